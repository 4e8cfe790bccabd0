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

    @discardableResult
    public func complete(destinationId: String, claim: Int64, results: [String: DeliveryResult], now: Date) async throws -> Completion {
        try await self.complete(destinationId: destinationId, claim: claim, results: results, now: now, thenClaim: 0, lease: 0, partialAfter: 0)
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
            var rows = try Row.fetchAll(
                db, sql: "SELECT record_key, code, sent FROM failures WHERE destination_id = ? AND kind = 'failed'",
                arguments: [destinationId]
            )
            if let codes { rows = rows.filter { codes.contains($0["code"] as String) } }
            if let recordIds {
                // An Id in either spelling, or an upsert destination's external Id value as given.
                var wanted = Set(recordIds.flatMap { [(try? SalesforceRecordID($0))?.value ?? $0, $0] })
                // ... or the Salesforce Id an upsert answered (or a followed lead's Contact).
                for id in recordIds.compactMap({ try? SalesforceRecordID($0).value }) {
                    if let key = try String.fetchOne(
                        db, sql: "SELECT record_id FROM records WHERE destination_id = ? AND salesforce_id = ?", arguments: [destinationId, id]
                    ) { wanted.insert(key) }
                }
                rows = rows.filter { wanted.contains($0["record_key"] as String) }
            }
            for row in rows {
                let recordId: String = row["record_key"]
                var record = try writer.loadRecord(destinationId, recordId)
                var entry = record.pending ?? PendingRecord()
                let sent = StoredJSON.decodeFields(row["sent"])
                entry.fields = sent.merging(entry.fields) { _, newer in newer }
                entry.waiting[writer.hour, default: 0] += 1
                writer.count(destinationId, hour: writer.hour) { $0.received += 1 }
                if record.pending == nil { record.queuedAt = now; record.dueAt = now }
                // History (monitoring): a person replayed the failure.
                try writer.writeHistory(RecordHistoryEntry(at: now, event: .replayed, attempt: 0, code: row["code"], fields: sent), for: &record)
                record.pending = entry
                try writer.saveRecord(record)
                try writer.clearFailure(destinationId, recordId, onlyExclusion: false)
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
        let rows = expired + due
        if rows.count < limit, partialAfter > 0, expired.isEmpty,
           let oldest = due.compactMap(\.dueAt).min(), oldest > now.addingTimeInterval(-partialAfter) {
            // Not a full batch yet, and its oldest record has not waited long enough for company.
            return []
        }
        var claimed: [ClaimedRecord] = []
        // One token for the whole claim; random, so claims of any process never share one.
        let token = Int64.random(in: 1...Int64.max)
        for var record in rows {
            guard var entry = record.pending else { continue }
            if entry.inFlight != nil {
                // A send whose claim expired may or may not have reached Salesforce.
                record.forgetAcknowledgement(of: entry)
                entry.retry()
            }
            guard let claim = entry.claim(acknowledged: record.acknowledged) else { continue }
            for (hour, count) in claim.alreadyHeld {
                self.count(destinationId, hour: hour) { $0.activated += count }
            }
            record.pending = entry.isSettled ? nil : entry
            record.claimedUntil = now.addingTimeInterval(lease)
            record.claimToken = token
            if !claim.fields.isEmpty {
                // History (monitoring): what is sent, on which attempt.
                try self.writeHistory(
                    RecordHistoryEntry(at: now, event: .sent, attempt: record.attempts + 1, fields: claim.fields), for: &record
                )
            }
            try self.saveRecord(record)
            if !claim.fields.isEmpty {
                claimed.append(ClaimedRecord(
                    recordId: record.recordId, fields: claim.fields, attempts: record.attempts,
                    queuedAt: record.queuedAt ?? now, retentionUsed: record.retentionUsed,
                    address: record.salesforceId.map { RecordAddress(salesforceId: $0, objectType: record.targetObject) },
                    claim: token
                ))
            }
        }
        return claimed
    }

    /// Applies Salesforce's answer for each claimed record still held by `claim` (nil: records a
    /// bulk job holds, fenced by the job instead).
    @discardableResult
    mutating func complete(destinationId: String, results: [String: DeliveryResult], claim: Int64?) throws -> Completion {
        let now = self.now
        var delivered = false
        var completion = Completion()
        for (recordId, result) in results {
            var record = try self.loadRecord(destinationId, recordId)
            guard var entry = record.pending, entry.inFlight != nil, claim == nil || record.claimToken == claim else {
                completion.fenced.append(recordId)
                continue
            }
            completion.applied += 1
            // History (monitoring): the outcome of the attempt.
            try self.writeHistory(result: result, attempt: record.attempts + 1, for: &record)
            switch result {
            case .acknowledged, .acknowledgedAt:
                if case .acknowledgedAt(let address) = result {
                    record.salesforceId = address.salesforceId
                    record.targetObject = address.objectType ?? record.targetObject
                }
                let (sent, activated) = entry.succeeded()
                record.acknowledged.merge(sent) { _, new in new }
                record.acknowledgedAt = now
                record.attempts = 0
                record.retentionUsed = 0
                record.lastErrorCode = nil
                record.lastErrorMessage = nil
                for (hour, count) in activated { self.count(destinationId, hour: hour) { $0.activated += count } }
                try self.clearFailure(destinationId, recordId, onlyExclusion: false)
                record.dueAt = now
                delivered = true
            case .postpone(let at, let outcomeUnknown):
                if outcomeUnknown { record.forgetAcknowledgement(of: entry) }
                entry.retry()
                record.dueAt = at
            case .retry(let code, let message, let at, let outcomeUnknown):
                if outcomeUnknown { record.forgetAcknowledgement(of: entry) }
                entry.retry()
                record.attempts += 1
                // The wait until the next attempt uses the retention window; a pause does not
                // (postponed records and records waiting past their due time add nothing).
                record.retentionUsed += max(0, at.timeIntervalSince(now))
                record.lastErrorCode = code
                record.lastErrorMessage = message
                record.dueAt = at
            case .failed(let code, let message, let fields):
                let (sent, failed) = entry.failed()
                for (hour, count) in failed { self.count(destinationId, hour: hour) { $0.failed += count } }
                try self.recordFailure(
                    destinationId: destinationId, recordKey: recordId, kind: "failed", code: code, message: message,
                    fields: fields, sent: sent
                )
                record.attempts = 0
                record.retentionUsed = 0
                record.lastErrorCode = code
                record.lastErrorMessage = message
                record.dueAt = now
            }
            record.pending = entry.isSettled ? nil : entry
            if record.pending == nil { record.queuedAt = nil } else if result.isAcknowledgement { record.queuedAt = now }
            try self.saveRecord(record)
        }
        if delivered {
            try self.db.execute(sql: "UPDATE destinations SET last_delivery_at = ? WHERE id = ?", arguments: [now.timeIntervalSince1970, destinationId])
        }
        completion.fenced.sort()
        return completion
    }
}
