import Foundation
import SfdestBasics

/// The decisions of delivery, apart from its I/O: when a destination may send, how long it waits
/// after trouble, whether a record retries or is exhausted, what a destination shows.
///
/// A value with no clock and no randomness of its own: every decision that depends on time takes
/// `now`, and jitter comes from the generator passed in, so each decision is tested in
/// microseconds. `DeliveryService` holds one, reads the clock once per decision point and does
/// the I/O the answers call for.
struct DeliveryPolicy: Sendable {
    /// What delivery knows of one destination.
    struct DestinationState: Sendable, Equatable {
        /// The connection the destination was last seen with, for its connection-level status.
        var connectionId: String?
        /// Paused after request-level trouble, until then.
        var pausedUntil: Date?
        /// Request-level transient failures in a row, for the growing backoff.
        var consecutiveFailures = 0
        /// What the destination shows while set (backing off, failed); otherwise its connection's
        /// pause or whether senders run.
        var status: DeliveryStatus?
        /// Senders running.
        var senders = 0
        /// A sender just claimed a full batch: more is waiting, another sender may start.
        var busy = false
    }

    /// A connection-level pause: every destination of the connection waits, with the status it shows.
    struct Pause: Sendable, Equatable {
        var until: Date
        var status: DeliveryStatus
    }

    /// What delivery knows of one connection.
    struct ConnectionState: Sendable, Equatable {
        /// API allowance, API budget or refused credentials.
        var pause: Pause?
        /// Consecutive refusals of the connection's credentials, for the growing pause between logins.
        var authenticationRefusals = 0
        /// Since when, and why, Salesforce has refused the connection's requests (the org's limit,
        /// its credentials), until a request goes through again: that moment is logged.
        var refusedSince: Refusal?
    }

    /// When Salesforce started refusing a connection's requests, and why.
    struct Refusal: Sendable, Equatable {
        var at: Date
        var status: DeliveryStatus
    }

    /// A connection whose requests go through again after Salesforce refused them.
    struct Resumption: Sendable, Equatable {
        var after: DeliveryStatus
        var refusedFor: TimeInterval
    }

    /// Whether a destination may start another sender now.
    enum Admission: Sendable, Equatable {
        /// Delivery stopped for a reason a person must fix.
        case stopped
        /// The destination or its connection is paused.
        case paused
        /// The pause on the API budget is over: read the org's usage before sending again.
        case recheckBudget
        /// Senders enough: the concurrency limit, or one sender that has not found a full batch.
        case full
        /// Another sender may start if something is due; `sendersRunning` run already.
        case open(sendersRunning: Int)
    }

    let options: DeliveryOptions
    /// After a request whose outcome is unknown, how long its records wait before they go again.
    let ambiguousSettle: TimeInterval
    /// The state of each destination seen, and of each connection; changed only through the methods.
    var destinations: [String: DestinationState] = [:]
    var connections: [String: ConnectionState] = [:]
    /// Each connection's requests in flight at most, as answers adjust it (kept across pauses and
    /// credential changes: it is about how the org answers, not about this connection's state).
    var concurrency: [String: AdaptiveConcurrency] = [:]

    /// `requestTimeout`: how long one Salesforce call may take; the settle time is twice that
    /// unless `options.ambiguousSettle` says otherwise.
    init(options: DeliveryOptions, requestTimeout: Duration) {
        self.options = options
        self.ambiguousSettle = options.ambiguousSettle ?? 2 * requestTimeout.inSeconds
    }

    /// A claim must outlast any request that carries it, including one Salesforce applies late:
    /// never shorter than the settle time after an unknown outcome.
    var lease: TimeInterval { max(self.options.lease, self.ambiguousSettle) }

    /// How long a partial batch waits for company.
    var linger: TimeInterval { self.options.linger.inSeconds }

    // MARK: What a destination shows

    /// What delivery is doing for a destination.
    func status(of destinationId: String) -> DeliveryStatus {
        let state = self.destinations[destinationId]
        if let status = state?.status { return status }
        if let connectionId = state?.connectionId, let pause = self.connections[connectionId]?.pause { return pause.status }
        return (state?.senders ?? 0) > 0 ? .delivering : .idle
    }

    /// The connection's pause, if one is set (it may have run out and not been lifted yet).
    func pause(ofConnection connectionId: String) -> Pause? {
        self.connections[connectionId]?.pause
    }

    // MARK: May a destination send now

    /// Whether an enabled destination may start another sender at `now`. Lifts a connection pause
    /// that ran out (except the API budget's, which waits for `admitAfterBudgetCheck`) and takes
    /// the destination's busy mark when it lets a second sender start.
    mutating func admit(destinationId: String, connectionId: String, deliveryError: String?, now: Date) -> Admission {
        if let deliveryError {
            self.destinationFailed(destinationId, reason: deliveryError)
            return .stopped
        }
        self.destinations[destinationId, default: DestinationState()].connectionId = connectionId
        if let until = self.destinations[destinationId]?.pausedUntil, until > now { return .paused }
        if let pause = self.connections[connectionId]?.pause {
            guard pause.until <= now else { return .paused }
            if case .pausedAPIBudget = pause.status { return .recheckBudget }
            self.connections[connectionId]?.pause = nil
        }
        return self.openSender(destinationId, connectionId: connectionId)
    }

    /// After `.recheckBudget`, once the org's usage allows sending again: lifts the connection's
    /// pause and answers as `admit` does.
    mutating func admitAfterBudgetCheck(destinationId: String, connectionId: String) -> Admission {
        self.connections[connectionId]?.pause = nil
        return self.openSender(destinationId, connectionId: connectionId)
    }

    /// One sender per destination, always; more while senders keep finding full batches, up to
    /// the connection's limit of requests in flight (shared by its destinations).
    private mutating func openSender(_ destinationId: String, connectionId: String) -> Admission {
        let running = self.destinations[destinationId]?.senders ?? 0
        if running > 0 {
            guard self.destinations[destinationId]?.busy == true, self.senders(onConnection: connectionId) < self.concurrencyLimit(connectionId) else {
                return .full
            }
        }
        self.destinations[destinationId]?.busy = false
        return .open(sendersRunning: running)
    }

    // MARK: Requests in flight per connection

    /// The connection's limit of requests in flight now.
    func concurrencyLimit(_ connectionId: String) -> Int {
        self.concurrency[connectionId]?.limit ?? max(1, self.options.concurrentRequests)
    }

    /// Senders running for the destinations of the connection.
    func senders(onConnection connectionId: String) -> Int {
        self.destinations.values.reduce(0) { $0 + ($1.connectionId == connectionId ? $1.senders : 0) }
    }

    /// Whether the limit adapts (a ceiling above the start).
    var adaptsConcurrency: Bool { self.options.maxConcurrentRequests > self.options.concurrentRequests }

    /// A request of the connection was answered; returns the new limit when it changed.
    mutating func answered(connectionId: String, latency: TimeInterval, records: Int, lockErrors: Int, now: Date) -> Int? {
        guard self.adaptsConcurrency else { return nil }
        var state = self.concurrency[connectionId] ?? self.startingConcurrency()
        let changed = state.answered(latency: latency, records: records, lockErrors: lockErrors, now: now)
        self.concurrency[connectionId] = state
        return changed ? state.limit : nil
    }

    /// Salesforce pushed back on a request of the connection; returns the new limit when it changed.
    mutating func congested(connectionId: String, now: Date) -> Int? {
        guard self.adaptsConcurrency else { return nil }
        var state = self.concurrency[connectionId] ?? self.startingConcurrency()
        let changed = state.congested(now: now)
        self.concurrency[connectionId] = state
        return changed ? state.limit : nil
    }

    private func startingConcurrency() -> AdaptiveConcurrency {
        AdaptiveConcurrency(initial: self.options.concurrentRequests, ceiling: self.options.maxConcurrentRequests)
    }

    /// Whether a sender of the destination should stop after its request: the connection has more
    /// in flight than its limit now, and the destination keeps another sender.
    func shouldShrink(destinationId: String, connectionId: String) -> Bool {
        (self.destinations[destinationId]?.senders ?? 0) > 1 && self.senders(onConnection: connectionId) > self.concurrencyLimit(connectionId)
    }

    /// Nothing is queued for an admitted destination: with no sender running, it shows idle again.
    mutating func nothingQueued(_ destinationId: String, sendersRunning: Int) {
        if sendersRunning == 0 { self.destinations[destinationId]?.status = nil }
    }

    /// Whether the destination or its connection is paused at `now` (a sender stops, unsent).
    func isPaused(destinationId: String, connectionId: String, now: Date) -> Bool {
        if let until = self.destinations[destinationId]?.pausedUntil, until > now { return true }
        if let pause = self.connections[connectionId]?.pause, pause.until > now { return true }
        return false
    }

    /// A sender claimed nothing although something is due at `nextDue`: a partial batch waiting
    /// for company. How long to wait before claiming again (nothing to wait for at or below 0),
    /// nil when nothing is due at `now` and the sender ends.
    func lingerWait(nextDue: Date?, now: Date) -> TimeInterval? {
        guard let nextDue, nextDue <= now else { return nil }
        return min(self.linger, nextDue.addingTimeInterval(self.linger).timeIntervalSince(now))
    }

    // MARK: Senders

    mutating func senderStarted(_ destinationId: String) {
        self.destinations[destinationId, default: DestinationState()].senders += 1
    }

    mutating func senderEnded(_ destinationId: String) {
        guard self.destinations[destinationId] != nil else {
            self.destinations[destinationId] = DestinationState()
            return
        }
        self.destinations[destinationId]?.senders -= 1
    }

    /// Whether any sender of any destination runs.
    var sendersRunning: Bool { self.destinations.values.contains { $0.senders > 0 } }

    /// A sender claimed a full batch: more may be waiting, another sender may start beside it.
    mutating func claimedFullBatch(_ destinationId: String) {
        self.destinations[destinationId, default: DestinationState()].busy = true
    }

    // MARK: Clearing

    /// Salesforce took a batch: the destination's backoff, pause and status end, and so does the
    /// count of its connection's refused logins.
    /// A request went through at `now`; when Salesforce had been refusing the connection's
    /// requests, since when and why (to be said once).
    @discardableResult
    mutating func delivered(destinationId: String, connectionId: String, now: Date = Date()) -> Resumption? {
        self.destinations[destinationId]?.consecutiveFailures = 0
        self.destinations[destinationId]?.pausedUntil = nil
        self.destinations[destinationId]?.status = nil
        self.connections[connectionId]?.authenticationRefusals = 0
        guard let refused = self.connections[connectionId]?.refusedSince else { return nil }
        self.connections[connectionId]?.refusedSince = nil
        return Resumption(after: refused.status, refusedFor: max(0, now.timeIntervalSince(refused.at)))
    }

    /// The destination changed (enabled, mappings fixed): its pause, backoff and status end.
    mutating func destinationChanged(_ destinationId: String) {
        self.destinations[destinationId]?.pausedUntil = nil
        self.destinations[destinationId]?.consecutiveFailures = 0
        self.destinations[destinationId]?.status = nil
    }

    /// A data usage policy stopped the destination: no sender sends for it until it changes again.
    mutating func holdBack(_ destinationId: String) {
        self.destinations[destinationId, default: DestinationState()].pausedUntil = .distantFuture
    }

    /// The connection changed (new credentials): its pause and the count of refused logins end.
    mutating func connectionChanged(_ connectionId: String) {
        self.connections[connectionId] = nil
    }

    /// Delivery stopped for a reason a person must fix; the destination shows it.
    mutating func destinationFailed(_ destinationId: String, reason: String) {
        self.destinations[destinationId, default: DestinationState()].status = .failed(reason: reason)
    }
}
