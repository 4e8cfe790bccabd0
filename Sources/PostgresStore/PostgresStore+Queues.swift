import Activation
import Foundation
import PostgresNIO
import Store

extension PostgresStore {
    /// The seed of the identities' advisory lock keys (`hashtextextended`), so they never meet
    /// another application's keys by chance.
    static let identityLockSeed: Int64 = 0x5F64_6573_745F_6964  // "_dest_id"

    /// Transactions started again at most this often when they lose a race (`PostgresStoreRetry`,
    /// a deadlock or serialization failure PostgreSQL reports).
    static let transactionAttempts = 5

    /// A queue transaction: `body` gets a writer on one connection; the transaction starts again
    /// (with a fresh writer) when it lost a race, and what it wrote is committed once.
    func queueTransaction<T: Sendable>(now: Date, _ body: @Sendable (inout PostgresQueueWriter) async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await self.transaction { connection in
                    var writer = PostgresQueueWriter(connection: connection, logger: self.logger, now: now)
                    let result = try await body(&writer)
                    try await writer.flush()
                    return result
                }
            } catch let error where attempt < Self.transactionAttempts && Self.mustRetry(error) {
                self.logger.debug("a queue transaction starts again", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                attempt += 1
                try await Task.sleep(for: .milliseconds(Int64.random(in: 1...(5 * Int64(attempt)))))
            }
        }
    }

    /// Whether a transaction failed only because it met another one: a row created meanwhile,
    /// a deadlock (40P01) or a serialization failure (40001).
    static func mustRetry(_ error: any Error) -> Bool {
        if error is PostgresStoreRetry { return true }
        guard let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] else { return false }
        return state == "40P01" || state == "40001"
    }
}

// MARK: IngestStore

extension PostgresStore: IngestStore {
    public func ingest(_ fragments: [Profile], into destinations: [ActiveDestination], at now: Date) async throws -> IngestSummary {
        try await self.queueTransaction(now: now) { writer in
            try await writer.lockIdentities(of: fragments)
            // A batch's rows are read in a few statements, not a few per profile: the profiles
            // first, then (once merged) the records they are evaluated into.
            try await writer.readAhead(profilesOf: fragments)
            var merged: [(Int64, Profile)] = []
            for fragment in fragments { merged.append(try await writer.mergeProfile(fragment)) }
            try await writer.readAhead(records: Self.recordKeys(merged.map(\.1), destinations))
            var summary = IngestSummary()
            for (profileId, profile) in merged {
                summary.profiles += 1
                for destination in destinations {
                    let counts = try await writer.fanOut(profile, profileId: profileId, to: destination)
                    if counts.received > 0 { summary.perDestination[destination.id, default: OutcomeCounts()] += counts }
                }
            }
            return summary
        }
    }

    /// A page of stored profiles evaluated for one destination; with a bulk threshold, what it
    /// queues waits in the bulk lane (`BulkQueue`).
    public func backfill(_ destination: ActiveDestination, after: Int64, limit: Int, at now: Date, hold: BackfillHold?) async throws -> BackfillProgress {
        try await self.queueTransaction(now: now) { writer in
            if let hold {
                // The destination's row stays locked to the end: a restart or a takeover waits for this page.
                let row = try await writer.rows("SELECT backfill_after, backfill_holder FROM destinations WHERE id = \(destination.id) FOR UPDATE").first
                guard let row, try row.value("backfill_holder", as: Int64?.self) == hold.holder,
                      try row.value("backfill_after", as: Int64?.self) == after
                else { throw BackfillNotHeld(destinationId: destination.id) }
            }
            let page = try await writer.rows("SELECT id, body FROM profiles WHERE id > \(after) ORDER BY id LIMIT \(limit)")
            let bulkThreshold = try await writer.rows("SELECT bulk_threshold FROM destinations WHERE id = \(destination.id)")
                .first?.value("bulk_threshold", as: Int?.self)
            if bulkThreshold != nil { writer.ledger.queuedRecordIds = [] }
            var counts = OutcomeCounts()
            var last: Int64?
            let profiles = try page.map { row in
                (try row.value("id", as: Int64.self), try row.value("body", as: Data.self).withUnsafeBytes { StoredBinary.decodeProfile($0) })
            }
            try await writer.readAhead(records: Self.recordKeys(profiles.map(\.1), [destination]))
            for (id, profile) in profiles {
                counts += try await writer.fanOut(profile, profileId: id, to: destination)
                last = id
            }
            // The page's rows are stored before the lane marks some of them.
            try await writer.writeRecords()
            try await writer.markBulkLane(destination.id, writer.ledger.queuedRecordIds ?? [])
            let next = page.count < limit ? nil : last
            if next == nil, let bulkThreshold { try await writer.finishBulkLane(destination.id, threshold: bulkThreshold) }
            // The cursor moves in the same transaction as the page: a crash resumes exactly here.
            let heldUntil = hold.map { now.timeIntervalSince1970 + $0.lease }
            try await writer.execute("UPDATE destinations SET backfill_after = \(next), backfill_held_until = \(heldUntil) WHERE id = \(destination.id)")
            return BackfillProgress(nextAfter: next, counts: counts)
        }
    }

    /// The records each destination's plan puts these profiles in, to read ahead.
    static func recordKeys(_ profiles: [Profile], _ destinations: [ActiveDestination]) -> [String: Set<String>] {
        var keys: [String: Set<String>] = [:]
        for destination in destinations {
            for profile in profiles {
                if case .record(let desired) = destination.plan.evaluate(profile) { keys[destination.id, default: []].insert(desired.key) }
            }
        }
        return keys
    }

    public func startBackfill(destinationId: String) async throws {
        try await self.client.query(
            "UPDATE destinations SET backfill_after = 0, backfill_holder = NULL, backfill_held_until = NULL WHERE id = \(destinationId)",
            logger: self.logger
        )
    }

    public func runningBackfills() async throws -> [String: Int64] {
        var cursors: [String: Int64] = [:]
        for row in try await self.rows("SELECT id, backfill_after FROM destinations WHERE backfill_after IS NOT NULL") {
            cursors[try row.value("id", as: String.self)] = try row.value("backfill_after", as: Int64.self)
        }
        return cursors
    }

    public func claimBackfills(_ hold: BackfillHold, now: Date) async throws -> [String: Int64] {
        let at = now.timeIntervalSince1970
        var cursors: [String: Int64] = [:]
        // A page in progress keeps its row locked: the update waits for it, then checks again
        // who holds the backfill (READ COMMITTED re-reads a row it waited for).
        let rows = try await self.rows("""
            UPDATE destinations SET backfill_holder = \(hold.holder), backfill_held_until = \(at + hold.lease)
            WHERE backfill_after IS NOT NULL AND status IN ('enabled', 'paused_policy')
              AND (backfill_holder IS NULL OR backfill_holder = \(hold.holder) OR backfill_held_until < \(at))
            RETURNING id, backfill_after
            """)
        for row in rows {
            cursors[try row.value("id", as: String.self)] = try row.value("backfill_after", as: Int64.self)
        }
        return cursors
    }
}

// MARK: DeliveryQueue

extension PostgresStore: DeliveryQueue {
    public func claim(destinationId: String, limit: Int, lease: TimeInterval, now: Date, partialAfter: TimeInterval) async throws -> [ClaimedRecord] {
        try await self.queueTransaction(now: now) { writer in
            try await writer.claim(destinationId: destinationId, limit: limit, lease: lease, partialAfter: partialAfter)
        }
    }

    public func complete(
        destinationId: String, claim: Int64, results: [String: DeliveryResult], now: Date,
        thenClaim limit: Int, lease: TimeInterval, partialAfter: TimeInterval
    ) async throws -> Completion {
        try await self.queueTransaction(now: now) { writer in
            var completion = try await writer.complete(destinationId: destinationId, results: results, claim: claim)
            if limit > 0 {
                completion.next = try await writer.claim(destinationId: destinationId, limit: limit, lease: lease, partialAfter: partialAfter)
            }
            return completion
        }
    }

    public func renew(destinationId: String, claim: Int64, lease: TimeInterval, now: Date) async throws -> Int {
        let until = now.addingTimeInterval(lease).timeIntervalSince1970
        return try await self.rows("""
            UPDATE records SET claimed_until = \(until)
            WHERE destination_id = \(destinationId) AND claim_token = \(claim) AND in_flight = 1 RETURNING 1 AS renewed
            """).count
    }

    public func reschedule(destinationId: String, at: Date) async throws {
        try await self.client.query(
            "UPDATE records SET due_at = \(at.timeIntervalSince1970) WHERE destination_id = \(destinationId) AND pending IS NOT NULL AND in_flight = 0",
            logger: self.logger
        )
    }

    /// Periodic: two index ranges of the destination's queued rows (`records_due`, checked by
    /// `PostgresPeriodicQuery`'s plan test), as on SQLite.
    public func nextDue(destinationId: String) async throws -> Date? {
        let row = try await self.rows(PostgresPeriodicQuery.nextDue.query(destinationId)).first
        let due = try row?.optionalDate("due")
        let expiry = try row?.optionalDate("expiry")
        return [due, expiry].compactMap { $0 }.min()
    }
}

extension PostgresQueueWriter {
    /// Takes up to `limit` due records of a destination under one new claim token: records whose
    /// claim expired first, then due ones, each locked with `SKIP LOCKED` so processes claiming at
    /// once take different records and never wait for each other.
    mutating func claim(destinationId: String, limit: Int, lease: TimeInterval, partialAfter: TimeInterval) async throws -> [ClaimedRecord] {
        let seconds = self.ledger.now.timeIntervalSince1970
        // A destination a policy paused sends nothing, whoever asks: its status is read in the
        // claim's own statements (one row by its key), not in a round trip of its own.
        let expired = try await self.rows("""
            SELECT \(unescaped: Self.recordColumns) FROM records
            WHERE destination_id = \(destinationId) AND pending IS NOT NULL AND in_flight = 1 AND claimed_until <= \(seconds)
                AND NOT EXISTS (SELECT 1 FROM destinations WHERE id = \(destinationId) AND status = 'paused_policy')
            ORDER BY due_at LIMIT \(limit) FOR UPDATE SKIP LOCKED
            """).map(Self.record(from:))
        let due = expired.count >= limit ? [] : try await self.rows("""
            SELECT \(unescaped: Self.recordColumns) FROM records
            WHERE destination_id = \(destinationId) AND pending IS NOT NULL AND in_flight = 0 AND due_at <= \(seconds)
                AND NOT EXISTS (SELECT 1 FROM destinations WHERE id = \(destinationId) AND status = 'paused_policy')
            ORDER BY due_at LIMIT \(limit - expired.count) FOR UPDATE SKIP LOCKED
            """).map(Self.record(from:))
        if self.ledger.waitsForCompany(expired: expired, due: due, limit: limit, partialAfter: partialAfter) { return [] }
        // One token for the whole claim; random, so claims of any process never share one.
        let (claimed, save) = self.ledger.claim(expired + due, destinationId: destinationId, lease: lease, token: Int64.random(in: 1...Int64.max))
        for record in save { self.ahead.recordWrites[destinationId, default: [:]][record.recordId] = record }
        try await self.writeRecords()
        try await self.applyEffects()
        return claimed
    }

    /// Whether a policy paused the destination (`paused_policy`): none of its records are claimed.
    func isPausedByPolicy(_ destinationId: String) async throws -> Bool {
        try await self.rows("SELECT 1 FROM destinations WHERE id = \(destinationId) AND status = 'paused_policy'").first != nil
    }

    /// Applies Salesforce's answers to the records `claim` still holds (in record order, so two
    /// completions lock rows in the same order); the others are fenced.
    /// `claim` nil: records a bulk job holds, fenced by the job instead.
    mutating func complete(destinationId: String, results: [String: DeliveryResult], claim: Int64?) async throws -> Completion {
        var completion = Completion()
        var delivered = false
        // The rows in one statement, locked in record order; written back in one more.
        self.ahead.records[destinationId] = nil
        try await self.readAhead(records: [destinationId: Set(results.keys)])
        for (recordId, result) in results.sorted(by: { $0.key < $1.key }) {
            guard var record = self.ahead.records[destinationId]?[recordId], QueueLedger.holds(record, claim: claim) else {
                completion.fenced.append(recordId)
                continue
            }
            completion.applied += 1
            if self.ledger.apply(result, to: &record) { delivered = true }
            self.ahead.recordWrites[destinationId, default: [:]][recordId] = record
            self.ahead.records[destinationId]?[recordId] = record.withStoredCategory()
        }
        // Stored before a claim in the same transaction reads them.
        try await self.writeRecords()
        try await self.applyEffects()
        // At the very end of the transaction (`flush`): the destination's row is locked from then
        // to the commit only, so its senders hardly wait for each other.
        if delivered { self.ahead.delivered.insert(destinationId) }
        return completion
    }
}
