import Logging
import Synchronization

/// Every log line of a test run, to check what was logged and to prove what never is.
public final class CapturedLogs: Sendable {
    /// One line as it was logged.
    public struct Line: Sendable {
        public var level: Logger.Level
        public var message: String
        /// The logger's metadata and the line's own, merged (the line's wins).
        public var metadata: [String: String]

        /// `level message key=value ...` (keys sorted), for searching.
        public var text: String {
            ([self.level.rawValue, self.message] + self.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
                .joined(separator: " ")
        }
    }

    private let captured = Mutex<[Line]>([])

    public init() {}

    /// Every line, in order.
    public var lines: [Line] { self.captured.withLock { $0 } }
    /// Every line's text, in order.
    public var all: [String] { self.lines.map(\.text) }
    /// Every line's text, joined.
    public var text: String { self.all.joined(separator: "\n") }

    /// A logger whose lines land here.
    public func logger(label: String, level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: label) { _ in CapturingLogHandler(logs: self) }
        logger.logLevel = level
        return logger
    }

    func append(_ line: Line) {
        self.captured.withLock { $0.append(line) }
    }
}

struct CapturingLogHandler: LogHandler {
    let logs: CapturedLogs
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = self.metadata.merging(event.metadata ?? [:]) { _, new in new }
        self.logs.append(CapturedLogs.Line(level: event.level, message: "\(event.message)", metadata: all.mapValues { "\($0)" }))
    }
}
