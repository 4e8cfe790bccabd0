import ArgumentParser
import Logging

/// `--log-level`: one of swift-log's levels, checked by the argument parser (a wrong word is
/// refused with the list of levels).
struct LogLevel: ExpressibleByArgument, Sendable {
    let level: Logger.Level

    init(_ level: Logger.Level) { self.level = level }

    init?(argument: String) {
        guard let level = Logger.Level(rawValue: argument.lowercased()) else { return nil }
        self.level = level
    }

    var defaultValueDescription: String { self.level.rawValue }
    static var allValueStrings: [String] { Logger.Level.allCases.map(\.rawValue) }

    /// A logger at this level.
    func logger(label: String) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = self.level
        return logger
    }
}
