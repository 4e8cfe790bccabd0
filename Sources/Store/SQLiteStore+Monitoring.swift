import Activation
import Foundation
import GRDB

extension SQLiteStore {
    public func backlog(destinationId: String) async throws -> Backlog {
        try await self.pool.read { db in
            var backlog = Backlog()
            let row = try Row.fetchOne(
                db, sql: PeriodicQuery.backlogCounts.sql, arguments: [destinationId]
            )
            backlog.pending = row?[0] ?? 0
            backlog.inFlight = row?[1] ?? 0
            backlog.retrying = row?[2] ?? 0
            backlog.failed = try Int.fetchOne(
                db, sql: PeriodicQuery.failedCount.sql, arguments: [destinationId]
            ) ?? 0
            return backlog
        }
    }

    public func runs(destinationId: String, limit: Int) async throws -> [DataflowRun] {
        try await self.pool.read { db in
            try Row.fetchAll(
                db, sql: PeriodicQuery.latestRuns.sql, arguments: [destinationId, limit]
            ).map { row in
                let start: Int64 = row["hour_start"]
                return DataflowRun(
                    start: Date(timeIntervalSince1970: Double(start) / 1000),
                    end: Date(timeIntervalSince1970: Double(start + 3_600_000) / 1000),
                    received: row["received"], activated: row["activated"], unchanged: row["unchanged"],
                    excluded: row["excluded"], failed: row["failed"],
                    firstReceivedAt: (row["first_received_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                    lastResolvedAt: (row["last_resolved_at"] as Double?).map(Date.init(timeIntervalSince1970:))
                )
            }
        }
    }

    public func failures(destinationId: String) async throws -> [FailureGroup] {
        try await self.pool.read { db in
            let groups = try Row.fetchAll(
                db,
                sql: """
                    SELECT kind, code, COUNT(*) AS count, MAX(message) AS message, MAX(fields) AS fields
                    FROM failures WHERE destination_id = ? GROUP BY kind, code ORDER BY count DESC, code
                    """,
                arguments: [destinationId]
            )
            return try groups.map { group in
                let kind: String = group["kind"]
                let code: String = group["code"]
                let samples = try String.fetchAll(
                    db, sql: "SELECT record_key FROM failures WHERE destination_id = ? AND kind = ? AND code = ? ORDER BY at DESC LIMIT 5",
                    arguments: [destinationId, kind, code]
                )
                let fields = StoredJSON.decodeStrings(group["fields"] as String?)
                return FailureGroup(kind: kind, code: code, count: group["count"], message: group["message"], fields: fields, sampleRecordIds: samples)
            }
        }
    }

    /// One record by its key, or (upsert destinations, followed converted leads) by the Salesforce
    /// Id it was written to.
    public func recordState(destinationId: String, recordId: String) async throws -> RecordState? {
        let normalized = (try? SalesforceRecordID(recordId))?.value
        return try await self.pool.read { db in
            let writer = QueueWriter(db: db, now: Date())
            // The key as Salesforce spells an Id (18 characters), then as given (an external Id
            // value), then the Salesforce Id an upsert answered or a converted lead's Contact.
            var key = normalized ?? recordId
            var loaded = try writer.loadRecord(destinationId, key)
            if !loaded.exists, normalized != nil, normalized != recordId {
                let asGiven = try writer.loadRecord(destinationId, recordId)
                if asGiven.exists { (key, loaded) = (recordId, asGiven) }
            }
            if !loaded.exists, let normalized,
               let byId = try String.fetchOne(
                   db, sql: "SELECT record_id FROM records WHERE destination_id = ? AND salesforce_id = ?", arguments: [destinationId, normalized]
               ) {
                (key, loaded) = (byId, try writer.loadRecord(destinationId, byId))
            }
            let record = loaded.exists ? loaded : nil
            let failure = try Row.fetchOne(db, sql: "SELECT * FROM failures WHERE destination_id = ? AND record_key = ?", arguments: [destinationId, key])
            guard record != nil || failure != nil else { return nil }
            let lastError: RecordError? = failure.map { failure in
                RecordError(
                    kind: failure["kind"], code: failure["code"], message: failure["message"],
                    fields: StoredJSON.decodeStrings(failure["fields"] as String?),
                    at: Date(timeIntervalSince1970: failure["at"])
                )
            } ?? record.flatMap { record in
                guard let code = record.lastErrorCode else { return nil }
                return RecordError(kind: "retrying", code: code, message: record.lastErrorMessage ?? "", fields: [], at: record.dueAt ?? Date())
            }
            return RecordState(
                recordId: key, address: record?.salesforceId.map { RecordAddress(salesforceId: $0, objectType: record?.targetObject) },
                acknowledged: record?.acknowledged ?? [:], pending: record?.pending?.fields ?? [:],
                inFlight: record?.pending?.inFlight, attempts: record?.attempts ?? 0, lastError: lastError,
                acknowledgedAt: record?.acknowledgedAt
            )
        }
    }

    public func audienceCounts(segmentIds: [String]) async throws -> [String: AudienceCounts] {
        try await self.pool.read { db in
            var result: [String: AudienceCounts] = [:]
            for segment in segmentIds {
                var counts = AudienceCounts()
                for row in try Row.fetchAll(db, sql: "SELECT status, count FROM audience_counts WHERE segment_id = ?", arguments: [segment]) {
                    let count: Int = row["count"]
                    switch row["status"] as String {
                    case AudienceStatus.realized.rawValue: counts.realized = count
                    case AudienceStatus.existing.rawValue: counts.existing = count
                    default: counts.exited = count
                    }
                }
                result[segment] = counts
            }
            return result
        }
    }

    public func audiencesSeen() async throws -> [String: AudienceCounts] {
        try await self.pool.read { db in
            var result: [String: AudienceCounts] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT segment_id, status, count FROM audience_counts WHERE count > 0") {
                let segment: String = row["segment_id"]
                let count: Int = row["count"]
                switch row["status"] as String {
                case AudienceStatus.realized.rawValue: result[segment, default: AudienceCounts()].realized = count
                case AudienceStatus.existing.rawValue: result[segment, default: AudienceCounts()].existing = count
                default: result[segment, default: AudienceCounts()].exited = count
                }
            }
            return result
        }
    }

    public func recentProfiles(limit: Int) async throws -> [Profile] {
        try await self.pool.read { db in
            let page = try SQLiteCall(db, "SELECT body FROM profiles ORDER BY id DESC LIMIT ?")
            page.reset()
            page.bind(1, max(0, limit))
            var profiles: [Profile] = []
            while try page.step() {
                profiles.append(page.withBytes(0) { $0.map(StoredBinary.decodeProfile) ?? Profile() })
            }
            page.reset()
            return profiles
        }
    }
}
