import Activation
import Foundation

/// Everything sfdest keeps, as the roles its services use. SQLite is the embedded default; a
/// second store (PostgreSQL, for scale-out) implements the same roles one by one, and each
/// service asks only for the roles it needs. The store keeps data and applies the domain's rules
/// inside its transactions (`PendingRecord`, `ActivationPlan`); it starts no work of its own.
public typealias SfdestStore = ConfigurationStore & IngestStore & DeliveryQueue & MonitoringStore & AlertStore & RecordHistoryStore
    & AccessStore & BulkQueue & TurnStore & SessionStore & ConnectionPauseStore & WebSessionStore & GovernanceStore
    & ProfileStore

/// Connections (with sealed secrets) and destinations.
public protocol ConfigurationStore: Sendable {
    func saveConnection(_ connection: Connection) async throws
    func connection(id: String) async throws -> Connection?
    func connections() async throws -> [Connection]
    /// Throws `StoreConflict` while a destination uses the connection.
    func deleteConnection(id: String) async throws -> Bool
    /// Deletes a destination that is not enabled, with everything kept for it (queue, runs,
    /// failures, history, alerts). Throws `StoreConflict` while it is enabled.
    func deleteDestination(id: String) async throws -> Bool
    func saveDestination(_ destination: Destination) async throws
    func destination(id: String) async throws -> Destination?
    func destinations() async throws -> [Destination]
}

/// The way in: stored profiles and what each destination must send.
public protocol IngestStore: Sendable {
    /// Merges profile fragments into the stored profiles and queues what each destination must send,
    /// in one durable transaction.
    func ingest(_ fragments: [Profile], into destinations: [ActiveDestination], at now: Date) async throws -> IngestSummary
    /// Evaluates stored profiles (after `after`, at most `limit`) for one destination, and keeps
    /// where it got to (nil when done) so a restart resumes the backfill. With `hold`, only while
    /// that holder holds the backfill at `after` (else `BackfillNotHeld`, nothing stored), and the
    /// hold is extended by its lease.
    func backfill(_ destination: ActiveDestination, after: Int64, limit: Int, at now: Date, hold: BackfillHold?) async throws -> BackfillProgress
    /// Records that a destination's backfill starts from the first stored profile; whoever held
    /// it before holds it no more.
    func startBackfill(destinationId: String) async throws
    /// The backfills not finished yet, with where each got to.
    func runningBackfills() async throws -> [String: Int64]
    /// The running backfills of enabled destinations that `hold` may run now: those nobody holds,
    /// those whose hold ran out, and its own; each is then held by it until a lease from `now`.
    func claimBackfills(_ hold: BackfillHold, now: Date) async throws -> [String: Int64]
}

extension IngestStore {
    /// One page, without a hold (a single process, or a test).
    public func backfill(_ destination: ActiveDestination, after: Int64, limit: Int, at now: Date) async throws -> BackfillProgress {
        try await self.backfill(destination, after: after, limit: limit, at: now, hold: nil)
    }
}

/// Work that one process of a deployment does at a time (evaluating the alert rules): a named
/// lease, taken and renewed by whoever does it.
public protocol TurnStore: Sendable {
    /// True when `holder` has the turn `name` until `lease` from `now`: it was free, ran out, or
    /// was already this holder's (renewed). False while another holder's lease runs.
    func takeTurn(_ name: String, holder: Int64, lease: TimeInterval, now: Date) async throws -> Bool
    /// Ends `holder`'s turn `name` now, so another may take it at once (nothing when not its own).
    func releaseTurn(_ name: String, holder: Int64) async throws
}

/// Salesforce sessions kept for every process sharing the store, so that one token request serves
/// them all. A session is a secret: it is kept sealed, bound to its connection.
public protocol SessionStore: Sendable {
    /// The session saved for the connection's credentials of `credentialsAt` (the connection's
    /// `updatedAt`: new credentials never get an old session); nil when none.
    func storedSession(connectionId: String, credentialsAt: Date) async throws -> Data?
    /// Keeps `session` as the connection's current one, replacing any other.
    func saveSession(_ session: Data, connectionId: String, credentialsAt: Date, at now: Date) async throws
}

/// The way out: claims on queued records, Salesforce's answers, when the next record is due.
public protocol DeliveryQueue: Sendable {
    /// Takes up to `limit` due records of a destination that are not in flight, under one new claim
    /// token (`ClaimedRecord.claim`) held until `lease` from now. Fewer than `limit` only once the
    /// oldest of them has been due for `partialAfter` seconds, so records arriving meanwhile fill
    /// the batch (0: whatever is due now).
    func claim(destinationId: String, limit: Int, lease: TimeInterval, now: Date, partialAfter: TimeInterval) async throws -> [ClaimedRecord]
    /// Applies Salesforce's answer for each record still held by `claim` (answers for records the
    /// claim lost, its lease having run out and another claim having taken them, change nothing:
    /// fencing), then claims the next batch as `claim` does (none when `limit` is 0), in one
    /// transaction.
    func complete(
        destinationId: String, claim: Int64, results: [String: DeliveryResult], now: Date,
        thenClaim limit: Int, lease: TimeInterval, partialAfter: TimeInterval
    ) async throws -> Completion
    /// Extends the lease of every record `claim` still holds to `lease` from `now` (a request
    /// still in flight); returns how many it holds (0: the claim was lost).
    func renew(destinationId: String, claim: Int64, lease: TimeInterval, now: Date) async throws -> Int
    /// Makes every queued record of a destination due at `at` (e.g. now, after a fix).
    func reschedule(destinationId: String, at: Date) async throws
    /// When the next queued record of a destination is due (nil: nothing queued). Periodic:
    /// costs what is queued (`PeriodicQuery`).
    func nextDue(destinationId: String) async throws -> Date?
}

/// What a person reads about a destination: backlog, runs, failures (and their replay), records.
public protocol MonitoringStore: Sendable {
    func backlog(destinationId: String) async throws -> Backlog
    func runs(destinationId: String, limit: Int) async throws -> [DataflowRun]
    func failures(destinationId: String) async throws -> [FailureGroup]
    /// Queues failed records again (all, or those with the given codes or record Ids).
    func retryFailures(destinationId: String, codes: [String]?, recordIds: [String]?, now: Date) async throws -> Int
    func recordState(destinationId: String, recordId: String) async throws -> RecordState?
    func audienceCounts(segmentIds: [String]) async throws -> [String: AudienceCounts]
    /// Every audience stored profiles are members of, with its counts per status (one row per
    /// audience and status: costs the audiences, not the profiles).
    func audiencesSeen() async throws -> [String: AudienceCounts]
    /// The most recently stored profiles, newest first (at most `limit`): what the UI suggests
    /// mapping sources from.
    func recentProfiles(limit: Int) async throws -> [Profile]
    /// Profiles stored.
    func profileCount() async throws -> Int
}

/// What a completion did: the answers it applied, those it refused because their claim had lost
/// the record (their Ids), and the next batch it claimed.
public struct Completion: Sendable, Equatable {
    public var applied: Int
    public var fenced: [String]
    public var next: [ClaimedRecord]

    public init(applied: Int = 0, fenced: [String] = [], next: [ClaimedRecord] = []) {
        self.applied = applied
        self.fenced = fenced
        self.next = next
    }
}

/// The store cannot take more right now (disk full, database busy past its bound): the caller
/// should refuse new work with 503 and `Retry-After` rather than accept what it cannot keep.
public struct StoreUnavailable: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension DeliveryQueue {
    /// Applies Salesforce's answer for each record still held by `claim` (fencing, as above).
    @discardableResult
    public func complete(destinationId: String, claim: Int64, results: [String: DeliveryResult], now: Date) async throws -> Completion {
        try await self.complete(destinationId: destinationId, claim: claim, results: results, now: now, thenClaim: 0, lease: 0, partialAfter: 0)
    }

    /// Takes up to `limit` due records of a destination that are not in flight, however few.
    public func claim(destinationId: String, limit: Int, lease: TimeInterval, now: Date) async throws -> [ClaimedRecord] {
        try await self.claim(destinationId: destinationId, limit: limit, lease: lease, now: now, partialAfter: 0)
    }
}
