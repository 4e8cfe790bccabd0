import Foundation

/// How often alerts are evaluated and how webhook deliveries are retried.
public struct AlertOptions: Sendable {
    /// How often every destination's rules are evaluated.
    public var evaluationInterval: Duration = .seconds(5)
    /// How often due webhook deliveries are looked for.
    public var webhookPollInterval: Duration = .seconds(1)
    /// The first retry of a webhook comes after this, then twice as long each time (±20 %).
    public var webhookBackoffBase: TimeInterval = 2
    /// The longest wait between two attempts.
    public var webhookBackoffCap: TimeInterval = 600
    /// How long an event is retried before its delivery is marked failed.
    public var webhookRetention: TimeInterval = 24 * 3600
    /// How long one webhook request may take.
    public var webhookTimeout: Duration = .seconds(10)
    /// Deliveries sent at the same time, at most.
    public var webhookBatch = 16

    public init() {}

    /// The wait before attempt `attempt + 1` (the first retry is `attempt == 1`).
    public func webhookBackoff(attempt: Int) -> TimeInterval {
        let exponential = self.webhookBackoffBase * pow(2, Double(max(0, attempt - 1)))
        return min(self.webhookBackoffCap, exponential) * Double.random(in: 0.8...1.2)
    }
}
