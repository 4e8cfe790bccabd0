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
                DataflowRun(
                    hourStart: row["hour_start"], received: row["received"], activated: row["activated"], unchanged: row["unchanged"],
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
                return FailureGroup(
                    kind: kind, code: code, count: group["count"], message: group["message"], storedFields: group["fields"], sampleRecordIds: samples
                )
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
            let failure = try Row.fetchOne(db, sql: "SELECT * FROM failures WHERE destination_id = ? AND record_key = ?", arguments: [destinationId, key])
            return RecordState(key: key, record: loaded.exists ? loaded : nil, failure: failure.map { failure in
                QueueFailure(
                    destinationId: destinationId, recordKey: key, kind: failure["kind"], code: failure["code"], message: failure["message"],
                    storedFields: failure["fields"], at: Date(timeIntervalSince1970: failure["at"])
                )
            })
        }
    }

    public func audienceCounts(segmentIds: [String]) async throws -> [String: AudienceCounts] {
        try await self.pool.read { db in
            var result: [String: AudienceCounts] = [:]
            for segment in segmentIds {
                var counts = AudienceCounts()
                for row in try Row.fetchAll(db, sql: "SELECT status, count FROM audience_counts WHERE segment_id = ?", arguments: [segment]) {
                    counts.set(status: row["status"], count: row["count"])
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
                result[row["segment_id"], default: AudienceCounts()].set(status: row["status"], count: row["count"])
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
