import Foundation
import Store

/// What delivery decides when Salesforce, the network or the org's limits get in the way: the
/// backoff, the retention window, the API budget, request-level failures.
extension DeliveryPolicy {
    /// The backoff's jitter: a factor of ±20% on the wait.
    static let jitter: ClosedRange<Double> = 0.8...1.2

    /// The wait before attempt number `attempt` (1 = the first retry): `base * 2^(attempt-1)`,
    /// capped at `cap`, times `jitter` (a factor within `DeliveryPolicy.jitter`).
    static func backoff(attempt: Int, base: TimeInterval, cap: TimeInterval, jitter: Double) -> TimeInterval {
        let exponential = base * pow(2, Double(max(0, min(attempt - 1, 30))))
        return min(cap, exponential) * jitter
    }

    /// The wait before attempt number `attempt`, its jitter drawn from `random`.
    static func backoff(
        attempt: Int, base: TimeInterval, cap: TimeInterval, using random: inout some RandomNumberGenerator
    ) -> TimeInterval {
        Self.backoff(attempt: attempt, base: base, cap: cap, jitter: Double.random(in: Self.jitter, using: &random))
    }

    /// The wait before attempt number `attempt` with the configured base and cap; `jitter`: a
    /// factor within `DeliveryPolicy.jitter`.
    func backoff(attempt: Int, jitter: Double) -> TimeInterval {
        Self.backoff(attempt: attempt, base: self.options.backoffBase, cap: self.options.backoffCap, jitter: jitter)
    }

    // MARK: Records

    /// A record that failed transiently goes back to the queue, due `after` seconds from `now`,
    /// unless its retries would take it past the retention window: then it fails with
    /// `RETRY_EXHAUSTED`, and a person is told why. `retentionUsed`: the seconds it already waited
    /// between earlier transient failures (time paused or queued behind others is not counted,
    /// so a long pause does not fail a backlog on its first error afterwards). `attempts`: its
    /// earlier failed attempts.
    func retryOrExhausted(
        retentionUsed: TimeInterval, attempts: Int, code: String, message: String, after: TimeInterval, outcomeUnknown: Bool = false,
        now: Date
    ) -> DeliveryResult {
        guard retentionUsed + after <= self.options.retention else {
            let hours = self.options.retention / 3600
            let window = hours >= 1 ? "\(Int(hours.rounded())) hours" : "\(Int(self.options.retention.rounded())) seconds"
            return .failed(
                code: "RETRY_EXHAUSTED",
                message: "kept failing transiently for more than \(window) after \(attempts + 1) attempts; last error \(code): \(message)",
                fields: []
            )
        }
        return .retry(code: code, message: message, at: now.addingTimeInterval(after), outcomeUnknown: outcomeUnknown)
    }

    /// The results that put a whole batch back in the queue, due `after` seconds from `now`.
    /// Trouble that is no record's fault (`countAttempt` false: a paused connection, shutdown)
    /// postpones without counting an attempt toward the retention window.
    func requeue(
        _ claimed: [ClaimedRecord], code: String, message: String, after: TimeInterval, countAttempt: Bool,
        outcomeUnknown: Bool = false, now: Date
    ) -> [String: DeliveryResult] {
        var results: [String: DeliveryResult] = [:]
        for record in claimed {
            results[record.recordId] = countAttempt
                ? self.retryOrExhausted(
                    retentionUsed: record.retentionUsed, attempts: record.attempts, code: code, message: message, after: after,
                    outcomeUnknown: outcomeUnknown, now: now
                )
                : .postpone(at: now.addingTimeInterval(after), outcomeUnknown: outcomeUnknown)
        }
        return results
    }

    // MARK: The API budget

    /// Whether a connection's usage (`used` of `max` daily calls) reached the share sfdest may use.
    /// An org that reports no allowance (`max` 0) is never over it.
    func overBudget(used: Int, max: Int) -> Bool {
        max > 0 && Double(used) >= Double(max) * self.options.apiBudgetShare
    }

    /// Pauses every destination of the connection on the API budget until the next reading of the
    /// org's usage. True when the connection was not paused before (the service says so once).
    @discardableResult
    mutating func pauseForBudget(connectionId: String, used: Int, max: Int, now: Date) -> Bool {
        let share = Int((self.options.apiBudgetShare * 100).rounded())
        let reason = "paused: API budget: the connection used \(used) of the org's \(max) daily API calls; sfdest uses at most \(share)% and resumes by itself when usage allows"
        let wasPaused = self.connections[connectionId]?.pause != nil
        self.pauseConnection(connectionId, until: now.addingTimeInterval(self.options.apiBudgetRecheck), status: .pausedAPIBudget(reason: reason))
        return !wasPaused
    }

    /// The org's usage could not be read: a connection's pause lasts until the next reading.
    mutating func budgetUnread(connectionId: String, now: Date) {
        guard let pause = self.connections[connectionId]?.pause else { return }
        self.pauseConnection(connectionId, until: now.addingTimeInterval(self.options.apiBudgetRecheck), status: pause.status)
    }

    private mutating func pauseConnection(_ connectionId: String, until: Date, status: DeliveryStatus) {
        self.connections[connectionId, default: ConnectionState()].pause = Pause(until: until, status: status)
    }

    /// Since when Salesforce has been refusing the connection's requests (nil: it is not).
    func refusedSince(_ connectionId: String) -> Date? {
        self.connections[connectionId]?.refusedSince?.at
    }

    /// The first refusal of a stretch is when the connection's requests stopped going through.
    mutating func refused(_ connectionId: String, since now: Date, status: DeliveryStatus) {
        if self.connections[connectionId, default: ConnectionState()].refusedSince == nil {
            self.connections[connectionId]?.refusedSince = Refusal(at: now, status: status)
        }
    }

    // MARK: Request-level failures

    /// A request failed as a whole; nothing of the batch was written.
    enum RequestTrouble: Sendable, Equatable {
        /// Salesforce refused the connection's credentials.
        case credentialsRefused
        /// The org's API allowance is used up (`REQUEST_LIMIT_EXCEEDED`).
        case throttled
        /// Try again later; `outcomeUnknown`: a timeout or lost connection, the request may still be applied.
        case transient(outcomeUnknown: Bool)
        /// The request as a whole is wrong (e.g. `INVALID_FIELD`): a person must fix something.
        case permanent
    }

    /// What to do with the batch after request-level trouble; the pauses are already set.
    enum TroubleDecision: Sendable, Equatable {
        /// Every destination of the connection waits `pause` seconds (the next login); the
        /// connection is marked as refused and the batch goes back, due then, no attempt counted.
        case credentialsRefused(pause: TimeInterval)
        /// Every destination of the connection waits `pause` seconds; the batch goes back, due
        /// then, no attempt counted.
        case throttled(pause: TimeInterval)
        /// The destination backs off `wait` seconds; the batch goes back due `requeueAfter`
        /// seconds from now (at least the settle time when the outcome is unknown), an attempt counted.
        case backingOff(wait: TimeInterval, requeueAfter: TimeInterval, outcomeUnknown: Bool)
        /// The destination stops with `message` (saved on it and then shown with
        /// `destinationFailed`); the batch goes back, due at once, to wait for the fix.
        case stop(message: String)
    }

    /// Decides what request-level trouble means for the destination and its connection at `now`,
    /// and sets the pauses and statuses it calls for. `reason`: what went wrong, for a person;
    /// `instant`: `now` on the continuous clock, for the end of a backoff; `jitter`: the backoff's
    /// factor, within `DeliveryPolicy.jitter`.
    mutating func requestFailed(
        _ trouble: RequestTrouble, reason: String, destinationId: String, connectionId: String, now: Date,
        instant: ContinuousClock.Instant, jitter: Double
    ) -> TroubleDecision {
        switch trouble {
        case .credentialsRefused:
            // Refused credentials are tried again less and less often (the org may lock a user
            // after repeated failed logins), and at once when the connection gets new ones.
            let refusals = (self.connections[connectionId]?.authenticationRefusals ?? 0) + 1
            self.connections[connectionId, default: ConnectionState()].authenticationRefusals = refusals
            let pause = self.authenticationPause(refusals: refusals)
            self.pauseConnection(connectionId, until: now.addingTimeInterval(pause), status: .authenticationFailed(reason: reason))
            self.refused(connectionId, since: now, status: .authenticationFailed(reason: reason))
            return .credentialsRefused(pause: pause)
        case .throttled:
            // The org's allowance is shared by every destination of the connection: pause them all,
            // and never re-authenticate for it.
            let pause = self.options.throttlePause
            self.pauseConnection(connectionId, until: now.addingTimeInterval(pause), status: .pausedAPILimit(reason: reason))
            self.refused(connectionId, since: now, status: .pausedAPILimit(reason: reason))
            return .throttled(pause: pause)
        case .transient(let outcomeUnknown):
            let failures = (self.destinations[destinationId]?.consecutiveFailures ?? 0) + 1
            self.destinations[destinationId, default: DestinationState()].consecutiveFailures = failures
            let wait = self.backoff(attempt: failures, jitter: jitter)
            self.destinations[destinationId]?.status = .backingOff(until: instant + .seconds(wait), reason: reason)
            self.destinations[destinationId]?.pausedUntil = now.addingTimeInterval(wait)
            // A timeout or a lost connection leaves the outcome unknown: the request may still be
            // applied. Its records wait until it cannot land any more before they go again.
            let settle = outcomeUnknown ? self.ambiguousSettle : 0
            return .backingOff(wait: wait, requeueAfter: max(wait, settle), outcomeUnknown: outcomeUnknown)
        case .permanent:
            return .stop(
                message: "Salesforce refused every request of this destination: \(reason). Fix it, then enable the destination again (POST /v1/destinations/\(destinationId)/enable); queued changes are kept."
            )
        }
    }

    /// The pause before trying credentials refused `refusals` times in a row: the configured pause,
    /// doubling with each refusal, at most an hour.
    func authenticationPause(refusals: Int) -> TimeInterval {
        min(3_600, self.options.authenticationPause * pow(2, Double(min(refusals - 1, 12))))
    }
}
