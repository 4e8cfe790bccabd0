import Logging
import Synchronization

/// Every log line of a test run, to check what was logged and to prove what never is.
/// Lines read `level message [metadata]`.
public final class CapturedLogs: Sendable {
    private let lines = Mutex<[String]>([])

    public init() {}

    /// Every line, in order.
    public var all: [String] { self.lines.withLock { $0 } }
    /// Every line, joined.
    public var text: String { self.lines.withLock { $0.joined(separator: "\n") } }

    /// A logger whose lines land here.
    public func logger(label: String, level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: label) { _ in CapturingLogHandler(logs: self) }
        logger.logLevel = level
        return logger
    }

    func append(_ line: String) {
        self.lines.withLock { $0.append(line) }
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
        self.logs.append("\(event.level) \(event.message) \(all)")
    }
}
