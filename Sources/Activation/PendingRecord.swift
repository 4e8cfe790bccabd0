/// A destination's queue entry for one Salesforce record: what still has to be sent, what is being
/// sent right now, and the received profiles waiting on it (for the run counters).
///
/// All decisions about coalescing, per-record order and counting live here, pure, so every store
/// backend applies the same rules. The invariants:
/// - `fields` is what must still be sent: the wanted values that differ from what Salesforce holds
///   once the in-flight send (if any) lands. A newer profile replaces it.
/// - A record is sent by one request at a time; a change that arrives meanwhile waits in `fields`.
/// - Every received profile that was queued is counted exactly once, as activated or failed, in the
///   hour it was received (`waiting` and `inFlightWaiting`, by hour start).
public struct PendingRecord: Sendable, Hashable {
    public var fields: [String: FieldValue]
    /// The values of the request now in flight, nil when none is.
    public var inFlight: [String: FieldValue]?
    /// Received profiles resolved by the next send, by hour start (ms since 1970).
    public var waiting: [Int64: Int]
    /// Received profiles resolved by the send in flight.
    public var inFlightWaiting: [Int64: Int]

    public init(fields: [String: FieldValue] = [:], inFlight: [String: FieldValue]? = nil, waiting: [Int64: Int] = [:], inFlightWaiting: [Int64: Int] = [:]) {
        self.fields = fields
        self.inFlight = inFlight
        self.waiting = waiting
        self.inFlightWaiting = inFlightWaiting
    }

    /// True when nothing is queued or in flight: the entry can be removed.
    public var isSettled: Bool { self.fields.isEmpty && self.inFlight == nil }

    /// A newly received profile's wanted record for this entry.
    ///
    /// - Returns: whether the profile changes anything. When it does not, it counts as unchanged;
    ///   when it does, it waits in `waiting` until the send resolves it. Earlier waiting profiles
    ///   whose changes the new record undoes count as unchanged too (returned in `resolvedUnchanged`).
    public mutating func receive(
        _ desired: DesiredRecord,
        acknowledged: [String: FieldValue],
        hour: Int64
    ) -> (changed: Bool, resolvedUnchanged: [Int64: Int]) {
        var base = acknowledged
        if let inFlight = self.inFlight {
            base.merge(inFlight) { _, sending in sending }
        }
        self.fields = desired.changes(since: base)
        if self.fields.isEmpty {
            let resolved = self.waiting
            self.waiting = [:]
            return (false, resolved)
        }
        self.waiting[hour, default: 0] += 1
        return (true, [:])
    }

    /// Takes what is to be sent for a request. Fields Salesforce already holds are dropped; nil when
    /// nothing is left to send (the waiting profiles are then returned as activated: Salesforce holds
    /// what they wanted) or when a send is already in flight.
    public mutating func claim(acknowledged: [String: FieldValue]) -> Claim? {
        guard self.inFlight == nil else { return nil }
        let toSend = self.fields.filter { acknowledged[$0.key] != $0.value }
        if toSend.isEmpty {
            let resolved = self.waiting
            self.fields = [:]
            self.waiting = [:]
            return Claim(fields: [:], alreadyHeld: resolved)
        }
        self.inFlight = toSend
        self.inFlightWaiting = self.waiting
        self.fields = [:]
        self.waiting = [:]
        return Claim(fields: toSend, alreadyHeld: [:])
    }

    /// What a claim hands to delivery.
    public struct Claim: Sendable, Hashable {
        /// The fields to send; empty when Salesforce already holds everything (no call).
        public var fields: [String: FieldValue]
        /// Received profiles resolved without a call, by hour.
        public var alreadyHeld: [Int64: Int]
    }

    /// Salesforce acknowledged the send: returns the values it now holds and the profiles activated.
    public mutating func succeeded() -> (acknowledged: [String: FieldValue], activated: [Int64: Int]) {
        let sent = self.inFlight ?? [:]
        let activated = self.inFlightWaiting
        self.inFlight = nil
        self.inFlightWaiting = [:]
        return (sent, activated)
    }

    /// The send must be tried again later (transient error, lost claim): it goes back in the queue,
    /// under any newer change.
    public mutating func retry() {
        guard let sent = self.inFlight else { return }
        self.fields = sent.merging(self.fields) { _, newer in newer }
        for (hour, count) in self.inFlightWaiting {
            self.waiting[hour, default: 0] += count
        }
        self.inFlight = nil
        self.inFlightWaiting = [:]
    }

    /// The profile took back what it wanted (it refused consent): the change not sent yet is
    /// dropped; one in flight cannot be recalled and resolves as it lands. Returns the waiting
    /// profiles, by hour, which the caller counts as excluded.
    public mutating func withdrawQueued() -> [Int64: Int] {
        let withdrawn = self.waiting
        self.fields = [:]
        self.waiting = [:]
        return withdrawn
    }

    /// Salesforce refused the send for a reason a person must fix: returns what was sent and the
    /// profiles that failed. A newer change stays queued.
    public mutating func failed() -> (sent: [String: FieldValue], failed: [Int64: Int]) {
        let sent = self.inFlight ?? [:]
        let failed = self.inFlightWaiting
        self.inFlight = nil
        self.inFlightWaiting = [:]
        return (sent, failed)
    }
}
