import Activation
import Foundation
import GRDB

extension SQLiteStore {
    public func claim(destinationId: String, limit: Int, lease: TimeInterval, now: Date, partialAfter: TimeInterval) async throws -> [ClaimedRecord] {
        try await self.write { db in
            var writer = QueueWriter(db: db, now: now)
            let claimed = try writer.claim(destinationId: destinationId, limit: limit, lease: lease, partialAfter: partialAfter)
            try writer.flush()
            return claimed
        }
    }

    /// Applies Salesforce's answers and claims the next batch in the same transaction: a sender
    /// waits for the single writer once per request instead of twice.
    public func complete(
        destinationId: String, claim: Int64, results: [String: DeliveryResult], now: Date,
        thenClaim limit: Int, lease: TimeInterval, partialAfter: TimeInterval
    ) async throws -> Completion {
        try await self.write { db in
            var writer = QueueWriter(db: db, now: now)
            var completion = try writer.complete(destinationId: destinationId, results: results, claim: claim)
            completion.next = limit > 0 ? try writer.claim(destinationId: destinationId, limit: limit, lease: lease, partialAfter: partialAfter) : []
            try writer.flush()
            return completion
        }
    }

    public func renew(destinationId: String, claim: Int64, lease: TimeInterval, now: Date) async throws -> Int {
        try await self.write { db in
            try db.execute(
                sql: "UPDATE records SET claimed_until = ? WHERE destination_id = ? AND claim_token = ? AND in_flight = 1",
                arguments: [now.addingTimeInterval(lease).timeIntervalSince1970, destinationId, claim]
            )
            return db.changesCount
        }
    }

    public func reschedule(destinationId: String, at: Date) async throws {
        try await self.write { db in
            try db.execute(
                sql: "UPDATE records SET due_at = ? WHERE destination_id = ? AND pending IS NOT NULL AND in_flight = 0",
                arguments: [at.timeIntervalSince1970, destinationId]
            )
        }
    }

    public func nextDue(destinationId: String) async throws -> Date? {
        try await self.pool.read { db in
            let pending = try Double.fetchOne(db, sql: PeriodicQuery.nextDuePending.sql, arguments: [destinationId])
            let expired = try Double.fetchOne(db, sql: PeriodicQuery.nextClaimExpiry.sql, arguments: [destinationId])
            return [pending, expired].compactMap { $0 }.min().map(Date.init(timeIntervalSince1970:))
        }
    }

    public func retryFailures(destinationId: String, codes: [String]?, recordIds: [String]?, now: Date) async throws -> Int {
        try await self.write { db in
            var writer = QueueWriter(db: db, now: now)
            let selection = ReplaySelection(codes: codes, recordIds: recordIds)
            var keysOfSalesforceIds: Set<String> = []
            for id in selection.salesforceIds {
                if let key = try String.fetchOne(
                    db, sql: "SELECT record_id FROM records WHERE destination_id = ? AND salesforce_id = ?", arguments: [destinationId, id]
                ) { keysOfSalesforceIds.insert(key) }
            }
            let rows = try Row.fetchAll(
                db, sql: "SELECT record_key, code, sent FROM failures WHERE destination_id = ? AND kind = 'failed'",
                arguments: [destinationId]
            ).filter { selection.takes(key: $0["record_key"], code: $0["code"], keysOfSalesforceIds: keysOfSalesforceIds) }
            for row in rows {
                var record = try writer.loadRecord(destinationId, row["record_key"])
                writer.ledger.replay(&record, sent: StoredJSON.decodeFields(row["sent"]), code: row["code"])
                try writer.storeRecord(record)
                try writer.applyEffects()
            }
            try writer.flush()
            return rows.count
        }
    }
}

extension QueueWriter {
    /// The record rows a claim query selects (`recordColumns`, bound to destination, time, limit).
    func records(sql: String, destinationId: String, before seconds: Double, limit: Int) throws -> [RecordRow] {
        let query = try SQLiteCall(self.db, sql)
        query.reset()
        defer { query.reset() }
        query.bind(1, destinationId)
        query.bind(2, seconds)
        query.bind(3, limit)
        var rows: [RecordRow] = []
        while try query.step() { rows.append(Self.recordRow(from: query)) }
        return rows
    }
}

extension QueueWriter {
    /// Takes up to `limit` due records of a destination for sending, each until `lease` from now.
    /// A partial batch (fewer than `limit`) is taken only once its oldest record has been due for
    /// `partialAfter` seconds, or when it holds an expired claim.
    mutating func claim(destinationId: String, limit: Int, lease: TimeInterval, partialAfter: TimeInterval) throws -> [ClaimedRecord] {
        let now = self.now
        let seconds = now.timeIntervalSince1970
        // A destination a policy paused sends nothing, whoever asks (one row by its key).
        if try self.isPausedByPolicy(destinationId) { return [] }
        // Due records not in flight, and in-flight records whose claim expired (a crashed or
        // stuck sender): those go back under any newer change and are sent again. Two queries,
        // each an index range (an OR of both would scan every queued row of the destination).
        let expired = try self.records(
            sql: """
                SELECT \(QueueWriter.recordColumns) FROM records INDEXED BY records_due
                WHERE destination_id = ? AND pending IS NOT NULL AND in_flight = 1 AND claimed_until <= ?
                ORDER BY due_at LIMIT ?
                """,
            destinationId: destinationId, before: seconds, limit: limit
        )
        let due = expired.count >= limit ? [] : try self.records(
            sql: """
                SELECT \(QueueWriter.recordColumns) FROM records INDEXED BY records_due
                WHERE destination_id = ? AND pending IS NOT NULL AND in_flight = 0 AND due_at <= ?
                ORDER BY due_at LIMIT ?
                """,
            destinationId: destinationId, before: seconds, limit: limit - expired.count
        )
        if self.ledger.waitsForCompany(expired: expired, due: due, limit: limit, partialAfter: partialAfter) { return [] }
        let rows = expired + due
        // One token for the whole claim; random, so claims of any process never share one.
        let (claimed, save) = self.ledger.claim(rows, destinationId: destinationId, lease: lease, token: Int64.random(in: 1...Int64.max))
        for record in save { try self.storeRecord(record) }
        try self.applyEffects()
        return claimed
    }

    /// Applies Salesforce's answer for each claimed record still held by `claim` (nil: records a
    /// bulk job holds, fenced by the job instead).
    @discardableResult
    mutating func complete(destinationId: String, results: [String: DeliveryResult], claim: Int64?) throws -> Completion {
        var delivered = false
        var completion = Completion()
        for (recordId, result) in results {
            var record = try self.loadRecord(destinationId, recordId)
            guard QueueLedger.holds(record, claim: claim) else {
                completion.fenced.append(recordId)
                continue
            }
            completion.applied += 1
            if self.ledger.apply(result, to: &record) { delivered = true }
            try self.storeRecord(record)
        }
        try self.applyEffects()
        if delivered {
            try self.db.execute(sql: "UPDATE destinations SET last_delivery_at = ? WHERE id = ?", arguments: [self.now.timeIntervalSince1970, destinationId])
        }
        completion.fenced.sort()
        return completion
    }

    /// Whether a policy paused the destination (`paused_policy`): none of its records are claimed.
    func isPausedByPolicy(_ destinationId: String) throws -> Bool {
        try String.fetchOne(
            self.db.cachedStatement(sql: "SELECT status FROM destinations WHERE id = ?"), arguments: [destinationId]
        ) == DestinationStatus.pausedPolicy.rawValue
    }
}
