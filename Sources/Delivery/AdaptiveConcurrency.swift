import Foundation

/// How many requests one connection keeps in flight, adjusted to how Salesforce answers
/// (additive increase, multiplicative decrease). Pure: no clock of its own.
///
/// - Increase: after as many clean answers as the limit (about one round of requests) whose
///   latency stays near the connection's floor, the limit doubles until the first push back
///   (slow start), and grows by one a round after that, up to `ceiling`.
/// - Decrease: congestion halves the limit (at least 1): a burst of `UNABLE_TO_LOCK_ROW` in one
///   answer, a 503 or another transient failure, a timeout, or `REQUEST_LIMIT_EXCEEDED` (which is
///   also Salesforce's answer past its concurrent long-running requests). Requests sent together
///   fail together: one decrease per round, however many of them fail.
/// - Latency well above its floor (twice, and 50 ms more) means the org is queueing the requests:
///   the limit is lowered by one instead of raised.
/// - Only an org whose calls take at least `minimumFloor` gets more requests than the start: when
///   a call is answered in a few milliseconds (a loopback emulator), the time goes to this
///   machine's CPU and its store, and more requests in flight would only take it from ingest.
///
/// The limit only decides how many requests are in flight at once: it never changes how many
/// calls a batch of records costs, nor the order of a record's changes (claims are exclusive).
struct AdaptiveConcurrency: Sendable, Equatable {
    let ceiling: Int
    private(set) var limit: Int
    /// Clean answers since the limit last changed.
    private(set) var cleanAnswers = 0
    /// The floor of the connection's latency: the lowest seen, drifting slowly up towards what is
    /// seen now (an org that became slower for good gets a new floor).
    private(set) var floor: TimeInterval?
    private var lastDecrease: Date?
    /// Doubling each round until Salesforce first pushes back.
    private(set) var slowStart = true

    /// A burst of lock errors: at least this share of one answer's records.
    static let lockBurstShare = 0.1
    /// The latency floor below which the limit is not raised.
    static let minimumFloor: TimeInterval = 0.05

    init(initial: Int, ceiling: Int) {
        self.ceiling = max(1, ceiling)
        self.limit = min(max(1, initial), self.ceiling)
    }

    /// A request answered after `latency` seconds; `lockErrors` of its `records` got
    /// `UNABLE_TO_LOCK_ROW`. Returns whether the limit changed.
    @discardableResult
    mutating func answered(latency: TimeInterval, records: Int, lockErrors: Int, now: Date) -> Bool {
        if records > 0, Double(lockErrors) >= Double(records) * Self.lockBurstShare {
            return self.congested(now: now)
        }
        let floor = self.floor.map { min(latency, $0 + (latency - $0) * 0.01) } ?? latency
        self.floor = floor
        if latency > 2 * floor + 0.05 {
            self.slowStart = false
            guard self.limit > 1, self.mayDecrease(now: now) else { return false }
            self.limit -= 1
            self.changed(now: now, decrease: true)
            return true
        }
        guard floor >= Self.minimumFloor else { return false }
        self.cleanAnswers += 1
        guard self.cleanAnswers >= self.limit, self.limit < self.ceiling else { return false }
        self.limit = self.slowStart ? min(self.ceiling, 2 * self.limit) : self.limit + 1
        self.changed(now: now, decrease: false)
        return true
    }

    /// Salesforce pushed back (see the type's description). Returns whether the limit changed.
    @discardableResult
    mutating func congested(now: Date) -> Bool {
        self.slowStart = false
        guard self.mayDecrease(now: now) else { return false }
        let halved = max(1, self.limit / 2)
        self.cleanAnswers = 0
        guard halved < self.limit else { return false }
        self.limit = halved
        self.changed(now: now, decrease: true)
        return true
    }

    /// One decrease per round of requests: the requests in flight when the trouble started were
    /// sent under the old limit, and their failures say nothing new.
    private func mayDecrease(now: Date) -> Bool {
        guard let last = self.lastDecrease else { return true }
        return now.timeIntervalSince(last) >= max(1, 2 * (self.floor ?? 0))
    }

    private mutating func changed(now: Date, decrease: Bool) {
        self.cleanAnswers = 0
        if decrease { self.lastDecrease = now }
    }
}
