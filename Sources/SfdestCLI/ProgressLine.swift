import Foundation
import Synchronization

/// A one-line progress display on standard error, redrawn at most a few times a second.
public final class ProgressLine: Sendable {
    private let label: String
    private let enabled: Bool
    private let lastDraw = Mutex<ContinuousClock.Instant?>(nil)

    public init(label: String, enabled: Bool = true) {
        self.label = label
        self.enabled = enabled
    }

    public func update(done: Int, total: Int) {
        guard self.enabled else { return }
        let now = ContinuousClock.now
        let due = self.lastDraw.withLock { last -> Bool in
            if let previous = last, now - previous < .milliseconds(200), done < total { return false }
            last = now
            return true
        }
        guard due else { return }
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 1
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let line = "\r\(self.label) [\(bar)] \(done)/\(total) (\(Int(fraction * 100))%)"
        FileHandle.standardError.write(Data(line.utf8))
    }

    public func finish() {
        guard self.enabled else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
