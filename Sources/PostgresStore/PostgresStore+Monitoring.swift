import Activation
import Foundation
import PostgresNIO
import Store

// MARK: MonitoringStore

extension PostgresStore: MonitoringStore {
    /// Periodic (status polls, the backlog gauge): one row of `queue_counts` and the destination's
    /// failed records through `failures_code` (`PostgresPeriodicQuery`).
    public func backlog(destinationId: String) async throws -> Backlog {
        var backlog = Backlog()
        if let row = try await self.rows(PostgresPeriodicQuery.backlogCounts.query(destinationId)).first {
            backlog.pending = try row.value("pending", as: Int.self)
            backlog.inFlight = try row.value("in_flight", as: Int.self)
            backlog.retrying = try row.value("retrying", as: Int.self)
        }
        backlog.failed = try await self.rows(PostgresPeriodicQuery.failedCount.query(destinationId)).first?.value("count", as: Int.self) ?? 0
        return backlog
    }

    public func runs(destinationId: String, limit: Int) async throws -> [DataflowRun] {
        try await self.rows(PostgresPeriodicQuery.latestRuns.query(destinationId, limit: limit)).map { row in
            DataflowRun(
                hourStart: try row.value("hour_start"), received: try row.value("received"), activated: try row.value("activated"),
                unchanged: try row.value("unchanged"), excluded: try row.value("excluded"), failed: try row.value("failed"),
                firstReceivedAt: try row.optionalDate("first_received_at"), lastResolvedAt: try row.optionalDate("last_resolved_at")
            )
        }
    }

    public func failures(destinationId: String) async throws -> [FailureGroup] {
        let groups = try await self.rows("""
            SELECT kind, code, count(*) AS count, max(message) AS message, max(fields) AS fields
            FROM failures WHERE destination_id = \(destinationId) GROUP BY kind, code ORDER BY count DESC, code
            """)
        var result: [FailureGroup] = []
        for group in groups {
            let (kind, code) = (try group.value("kind", as: String.self), try group.value("code", as: String.self))
            let samples = try await self.rows("""
                SELECT record_key FROM failures WHERE destination_id = \(destinationId) AND kind = \(kind) AND code = \(code)
                ORDER BY at DESC LIMIT 5
                """).map { try $0.value("record_key", as: String.self) }
            result.append(FailureGroup(
                kind: kind, code: code, count: try group.value("count"), message: try group.value("message"),
                storedFields: try group.value("fields"), sampleRecordIds: samples
            ))
        }
        return result
    }

    public func retryFailures(destinationId: String, codes: [String]?, recordIds: [String]?, now: Date) async throws -> Int {
        let selection = ReplaySelection(codes: codes, recordIds: recordIds)
        return try await self.queueTransaction(now: now) { writer in
            var keysOfSalesforceIds: Set<String> = []
            for id in selection.salesforceIds {
                for row in try await writer.rows("SELECT record_id FROM records WHERE destination_id = \(destinationId) AND salesforce_id = \(id)") {
                    keysOfSalesforceIds.insert(try row.value("record_id", as: String.self))
                }
            }
            let failures = try await writer.rows("""
                SELECT record_key, code, sent FROM failures WHERE destination_id = \(destinationId) AND kind = 'failed'
                ORDER BY record_key FOR UPDATE
                """)
            var replayed = 0
            for failure in failures {
                let (key, code) = (try failure.value("record_key", as: String.self), try failure.value("code", as: String.self))
                guard selection.takes(key: key, code: code, keysOfSalesforceIds: keysOfSalesforceIds) else { continue }
                var record = try await writer.lockRecord(destinationId, key)
                writer.ledger.replay(&record, sent: StoredJSON.decodeFields(try failure.value("sent", as: String?.self)), code: code)
                try await writer.storeRecord(record)
                try await writer.applyEffects()
                replayed += 1
            }
            return replayed
        }
    }

    /// One record by its key, or (upsert destinations, followed converted leads) by the Salesforce
    /// Id it was written to, as on SQLite.
    public func recordState(destinationId: String, recordId: String) async throws -> RecordState? {
        let normalized = (try? SalesforceRecordID(recordId))?.value
        // The key as Salesforce spells an Id (18 characters), then as given (an external Id value),
        // then the Salesforce Id an upsert answered or a converted lead's Contact.
        var key = normalized ?? recordId
        var loaded = try await self.record(destinationId, key)
        if loaded == nil, normalized != nil, normalized != recordId, let asGiven = try await self.record(destinationId, recordId) {
            (key, loaded) = (recordId, asGiven)
        }
        if loaded == nil, let normalized,
           let row = try await self.rows("SELECT \(unescaped: PostgresQueueWriter.recordColumns) FROM records WHERE destination_id = \(destinationId) AND salesforce_id = \(normalized) LIMIT 1").first {
            let byId = try PostgresQueueWriter.record(from: row)
            (key, loaded) = (byId.recordId, byId)
        }
        let failure = try await self.rows("""
            SELECT kind, code, message, fields, at FROM failures WHERE destination_id = \(destinationId) AND record_key = \(key)
            """).first.map { row in
                QueueFailure(
                    destinationId: destinationId, recordKey: key, kind: try row.value("kind"), code: try row.value("code"),
                    message: try row.value("message"), storedFields: try row.value("fields"), at: try row.date("at")
                )
            }
        return RecordState(key: key, record: loaded, failure: failure)
    }

    private func record(_ destinationId: String, _ recordId: String) async throws -> QueueRecord? {
        try await self.rows(
            "SELECT \(unescaped: PostgresQueueWriter.recordColumns) FROM records WHERE destination_id = \(destinationId) AND record_id = \(recordId)"
        ).first.map(PostgresQueueWriter.record(from:))
    }

    public func audienceCounts(segmentIds: [String]) async throws -> [String: AudienceCounts] {
        var result: [String: AudienceCounts] = [:]
        for segment in segmentIds { result[segment] = AudienceCounts() }
        for row in try await self.rows("SELECT segment_id, status, count FROM audience_counts WHERE segment_id = ANY(\(segmentIds))") {
            result[try row.value("segment_id", as: String.self), default: AudienceCounts()]
                .set(status: try row.value("status"), count: try row.value("count"))
        }
        return result
    }

    public func audiencesSeen() async throws -> [String: AudienceCounts] {
        var result: [String: AudienceCounts] = [:]
        for row in try await self.rows("SELECT segment_id, status, count FROM audience_counts WHERE count > 0") {
            result[try row.value("segment_id", as: String.self), default: AudienceCounts()]
                .set(status: try row.value("status"), count: try row.value("count"))
        }
        return result
    }

    public func recentProfiles(limit: Int) async throws -> [Profile] {
        try await self.rows("SELECT body FROM profiles ORDER BY id DESC LIMIT \(max(0, limit))").map { row in
            try row.value("body", as: Data.self).withUnsafeBytes { StoredBinary.decodeProfile($0) }
        }
    }

    /// Periodic (the `/metrics` gauge): one row of `store_counts`.
    public func profileCount() async throws -> Int {
        try await self.rows(PostgresPeriodicQuery.profileCount.query()).first?.value("value", as: Int.self) ?? 0
    }
}

// MARK: RecordHistoryStore

extension PostgresStore: RecordHistoryStore {
    public func recordHistory(destinationId: String, recordId: String, limit: Int) async throws -> [RecordHistoryEntry] {
        let key = (try? SalesforceRecordID(recordId))?.value ?? recordId
        return try await self.rows("""
            SELECT at, event, attempt, code, message, fields, error_fields FROM record_history
            WHERE destination_id = \(destinationId) AND record_id = \(key) ORDER BY id DESC LIMIT \(limit)
            """).reversed().map { row in
                RecordHistoryEntry(
                    at: try row.date("at"), event: RecordHistoryEntry.Event(rawValue: try row.value("event")) ?? .sent,
                    attempt: try row.value("attempt"), code: try row.value("code"), message: try row.value("message"),
                    fields: StoredJSON.decodeFields(try row.value("fields", as: String?.self)),
                    errorFields: StoredJSON.decodeStrings(try row.value("error_fields", as: String?.self))
                )
            }
    }
}

/// The PostgreSQL store's queries that run on a timer whatever the load (delivery's poll, the
/// alert check, the webhook poll, status polls, the gauges): each must cost what is queued, never
/// what was ever stored. Each names the index its plan must use; `StoreContractTests` checks the
/// plan (`EXPLAIN`) over tables holding tens of thousands of rows of history.
public enum PostgresPeriodicQuery: CaseIterable, Sendable {
    /// When the next queued record not in flight is due, and when the first claim expires.
    case nextDue
    /// When the oldest change still waiting was queued (the flow-run-delay alert).
    case oldestPendingChange
    /// Records failed now with one code (the retry-exhausted alert).
    case failureCount
    case backlogCounts
    case failedCount
    case latestRuns
    /// A destination's open alerts (the alert check).
    case openAlerts
    /// Webhook deliveries due now, taken for a lease (the webhook poll).
    case dueWebhookDeliveries
    /// Whether a destination's bulk lane holds records, and its unfinished jobs (the bulk poll).
    case bulkLaneAny
    case unfinishedBulkJobs
    case profileCount

    /// The statement with its parameters bound.
    public func query(_ destinationId: String = "", limit: Int = 24, code: String = "", now: Double = 0, lease: Double = 60) -> PostgresQuery {
        switch self {
        case .nextDue:
            return """
                SELECT (SELECT min(due_at) FROM records WHERE destination_id = \(destinationId) AND pending IS NOT NULL AND in_flight = 0) AS due,
                    (SELECT min(claimed_until) FROM records WHERE destination_id = \(destinationId) AND pending IS NOT NULL AND in_flight = 1) AS expiry
                """
        case .oldestPendingChange:
            return "SELECT min(queued_at) AS oldest FROM records WHERE destination_id = \(destinationId) AND pending IS NOT NULL"
        case .failureCount:
            return "SELECT count(*) AS count FROM failures WHERE destination_id = \(destinationId) AND kind = 'failed' AND code = \(code)"
        case .backlogCounts:
            return "SELECT pending, in_flight, retrying FROM queue_counts WHERE destination_id = \(destinationId)"
        case .failedCount:
            return "SELECT count(*) AS count FROM failures WHERE destination_id = \(destinationId) AND kind = 'failed'"
        case .latestRuns:
            return "SELECT * FROM runs WHERE destination_id = \(destinationId) ORDER BY hour_start DESC LIMIT \(limit)"
        case .openAlerts:
            // The literal 'open' lets the planner use the partial index of open alerts; resolved
            // alerts accumulate and are never visited.
            return "SELECT * FROM alerts WHERE destination_id = \(destinationId) AND state = 'open' ORDER BY opened_at DESC, seq DESC LIMIT \(limit)"
        case .dueWebhookDeliveries:
            return """
                WITH due AS (
                    SELECT id FROM webhook_deliveries WHERE state = 'pending' AND due_at <= \(now)
                    ORDER BY due_at, id LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                UPDATE webhook_deliveries d SET due_at = \(now + lease) FROM due
                WHERE d.id = due.id
                RETURNING d.id, d.event_id, d.subscription_id, d.body, d.attempts, d.created_at,
                    (SELECT sealed_url FROM alert_subscriptions s WHERE s.id = d.subscription_id) AS sealed_url,
                    (SELECT sealed_secret FROM alert_subscriptions s WHERE s.id = d.subscription_id) AS sealed_secret
                """
        case .bulkLaneAny:
            return "SELECT EXISTS (SELECT 1 FROM records WHERE destination_id = \(destinationId) AND pending IS NOT NULL AND in_flight = 2) AS lane"
        case .unfinishedBulkJobs:
            return "SELECT * FROM bulk_jobs WHERE destination_id = \(destinationId) AND finished_at IS NULL ORDER BY created_at, id"
        case .profileCount:
            return "SELECT value FROM store_counts WHERE name = 'profiles'"
        }
    }

    /// The indexes the plan must read its growing tables through (never a sequential scan).
    /// Empty for the tables of a row per destination or per name (`queue_counts`,
    /// `store_counts`): reading them costs the destinations, however much history there is.
    public var expectedIndexes: Set<String> {
        switch self {
        case .nextDue, .oldestPendingChange: return ["records_due"]
        case .failureCount, .failedCount: return ["failures_code"]
        case .latestRuns: return ["runs_pkey"]
        case .openAlerts: return ["alerts_one_open"]
        case .dueWebhookDeliveries: return ["webhook_deliveries_due"]
        case .bulkLaneAny: return ["records_due"]
        case .unfinishedBulkJobs: return ["bulk_jobs_unfinished"]
        case .backlogCounts, .profileCount: return []
        }
    }
}
