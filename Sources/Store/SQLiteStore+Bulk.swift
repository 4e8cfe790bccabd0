import Activation
import Foundation
import GRDB

/// The bulk lane in SQLite (see `BulkQueue`): `records.in_flight` 2 (in the lane) and 3 (in the
/// job `records.bulk_job`), the jobs in `bulk_jobs`. Every query reads an index range of what the
/// lane or the job holds, never the destination's history.
extension SQLiteStore {
    /// Migration `v14_bulk`.
    static func migrateBulk(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE destinations ADD COLUMN bulk_threshold INTEGER DEFAULT 10000;
            ALTER TABLE records ADD COLUMN bulk_job TEXT;
            CREATE INDEX records_bulk_job ON records(destination_id, bulk_job) WHERE bulk_job IS NOT NULL;
            CREATE TABLE bulk_jobs (
                id TEXT PRIMARY KEY, destination_id TEXT NOT NULL, object TEXT NOT NULL, state TEXT NOT NULL,
                columns TEXT NOT NULL DEFAULT '', records INTEGER NOT NULL DEFAULT 0, processed INTEGER NOT NULL DEFAULT 0,
                failed INTEGER NOT NULL DEFAULT 0, uploaded INTEGER NOT NULL DEFAULT 0,
                created_at REAL NOT NULL, finished_at REAL) WITHOUT ROWID;
            CREATE INDEX bulk_jobs_recent ON bulk_jobs(destination_id, created_at);
            CREATE INDEX bulk_jobs_unfinished ON bulk_jobs(destination_id, created_at) WHERE finished_at IS NULL;
            """)
    }

    /// The queries of the bulk lane, named so a test checks each plan (`EXPLAIN QUERY PLAN`).
    enum BulkQuery: CaseIterable {
        case laneAny, laneCount, lanePage, jobRecords, unfinishedJobs, recentJobs

        var sql: String {
            switch self {
            case .laneAny:
                return "SELECT EXISTS (SELECT 1 FROM records INDEXED BY records_due WHERE destination_id = ? AND pending IS NOT NULL AND in_flight = 2)"
            case .laneCount:
                return "SELECT COUNT(*) FROM records INDEXED BY records_due WHERE destination_id = ? AND pending IS NOT NULL AND in_flight = 2"
            case .lanePage:
                return """
                    SELECT \(QueueWriter.recordColumns) FROM records INDEXED BY records_due
                    WHERE destination_id = ? AND pending IS NOT NULL AND in_flight = 2 AND due_at IS NULL AND (attempts, record_id) > (?, ?)
                    ORDER BY attempts, record_id LIMIT ?
                    """
            case .jobRecords:
                return "SELECT record_id FROM records INDEXED BY records_bulk_job WHERE destination_id = ? AND bulk_job = ? LIMIT ?"
            case .unfinishedJobs:
                return "SELECT * FROM bulk_jobs INDEXED BY bulk_jobs_unfinished WHERE destination_id = ? AND finished_at IS NULL ORDER BY created_at"
            case .recentJobs:
                return "SELECT * FROM bulk_jobs INDEXED BY bulk_jobs_recent WHERE destination_id = ? ORDER BY created_at DESC LIMIT ?"
            }
        }

        /// What `EXPLAIN QUERY PLAN` must say (SEARCH through the index, never a SCAN).
        var expectedPlan: [String] {
            switch self {
            case .laneAny:
                return ["SCAN CONSTANT ROW", "SEARCH records USING INDEX records_due (destination_id=? AND in_flight=?)"]
            case .laneCount:
                return ["SEARCH records USING INDEX records_due (destination_id=? AND in_flight=?)"]
            case .lanePage:
                return ["SEARCH records USING INDEX records_due (destination_id=? AND in_flight=? AND due_at=? AND (attempts,record_id)>(?,?))"]
            case .jobRecords:
                return ["SEARCH records USING COVERING INDEX records_bulk_job (destination_id=? AND bulk_job=?)"]
            case .unfinishedJobs, .recentJobs:
                return ["SEARCH bulk_jobs USING INDEX \(self == .recentJobs ? "bulk_jobs_recent" : "bulk_jobs_unfinished") (destination_id=?)"]
            }
        }
    }

    public func bulkWork(destinationId: String) async throws -> BulkWork {
        try await self.pool.read { db in
            let running = try Bool.fetchOne(
                db, sql: "SELECT backfill_after IS NOT NULL FROM destinations WHERE id = ?", arguments: [destinationId]
            ) ?? true
            let lane = running ? false : try Bool.fetchOne(db, sql: BulkQuery.laneAny.sql, arguments: [destinationId]) ?? false
            let jobs = try Row.fetchAll(db, sql: BulkQuery.unfinishedJobs.sql, arguments: [destinationId]).map(Self.bulkJob(from:))
            return BulkWork(laneReady: lane, unfinishedJobs: jobs)
        }
    }

    public func recordBulkJob(id: String, destinationId: String, object: String, now: Date) async throws {
        try await self.write { db in
            try db.execute(
                sql: "INSERT INTO bulk_jobs (id, destination_id, object, state, created_at) VALUES (?, ?, ?, 'Open', ?)",
                arguments: [id, destinationId, object, now.timeIntervalSince1970]
            )
        }
    }

    public func claimForBulkJob(
        destinationId: String, jobId: String, columns: [String]?, after: BulkLaneCursor?, maxRecords: Int, maxBytes: Int,
        rowSize: @escaping @Sendable ([FieldValue]) -> Int, now: Date
    ) async throws -> BulkLanePage {
        try await self.write { db in
            var writer = QueueWriter(db: db, now: now)
            let page = try writer.claimForBulkJob(
                destinationId: destinationId, jobId: jobId, columns: columns, after: after, maxRecords: maxRecords, maxBytes: maxBytes,
                rowSize: rowSize
            )
            try writer.flush()
            return page
        }
    }

    public func updateBulkJob(id: String, state: String, processed: Int, failed: Int, records: Int?, columns: [String]?, uploaded: Bool?) async throws {
        try await self.write { db in
            try db.execute(
                sql: """
                    UPDATE bulk_jobs SET state = ?, processed = ?, failed = ?, records = COALESCE(?, records),
                        columns = COALESCE(?, columns), uploaded = COALESCE(?, uploaded) WHERE id = ?
                    """,
                arguments: [state, processed, failed, records, columns.map { $0.joined(separator: ",") }, uploaded.map { $0 ? 1 : 0 }, id]
            )
        }
    }

    public func applyBulkResults(
        destinationId: String, jobId: String, results: [String: DeliveryResult], unreported: DeliveryResult,
        state: String, processed: Int, failed: Int, pageSize: Int, now: Date
    ) async throws -> Int {
        let applied = try await inPages(of: pageSize) {
            try await self.write { db in
                let ids = try Self.jobRecordIds(db, destinationId: destinationId, jobId: jobId, limit: pageSize)
                guard !ids.isEmpty else { return 0 }
                var writer = QueueWriter(db: db, now: now)
                var outcomes: [String: DeliveryResult] = [:]
                for id in ids { outcomes[id] = results[id] ?? unreported }
                try writer.complete(destinationId: destinationId, results: outcomes, claim: nil)
                try writer.leaveBulkJob(destinationId: destinationId, recordIds: ids)
                try writer.flush()
                return ids.count
            }
        }
        try await self.finishBulkJob(id: jobId, state: state, processed: processed, failed: failed, now: now)
        return applied
    }

    public func returnBulkJobToLane(destinationId: String, jobId: String, state: String, now: Date) async throws -> Int {
        let returned = try await inPages(of: 5_000) {
            try await self.write { db in
                let ids = try Self.jobRecordIds(db, destinationId: destinationId, jobId: jobId, limit: 5_000)
                var writer = QueueWriter(db: db, now: now)
                for id in ids {
                    // Nothing of the job was written: what it held is queued again, under any newer change.
                    var record = try writer.loadRecord(destinationId, id)
                    writer.ledger.returnToLane(&record, jobState: state)
                    try writer.storeRecord(record)
                }
                try writer.applyEffects()
                try writer.leaveBulkJob(destinationId: destinationId, recordIds: ids)
                try writer.markBulkLane(destinationId, ids)
                try writer.flush()
                return ids.count
            }
        }
        try await self.finishBulkJob(id: jobId, state: state, processed: 0, failed: 0, now: now)
        return returned
    }

    public func releaseBulkLane(destinationId: String, now: Date) async throws -> Int {
        try await self.write { db in
            var writer = QueueWriter(db: db, now: now)
            return try writer.releaseBulkLane(destinationId)
        }
    }

    public func recentBulkJobs(destinationId: String, limit: Int) async throws -> [BulkJobSummary] {
        try await self.pool.read { db in
            try Row.fetchAll(db, sql: BulkQuery.recentJobs.sql, arguments: [destinationId, limit]).map(Self.bulkJob(from:))
        }
    }

    private func finishBulkJob(id: String, state: String, processed: Int, failed: Int, now: Date) async throws {
        try await self.write { db in
            try db.execute(
                sql: "UPDATE bulk_jobs SET state = ?, processed = ?, failed = ?, finished_at = ? WHERE id = ?",
                arguments: [state, processed, failed, now.timeIntervalSince1970, id]
            )
            // Finished jobs are kept for the destination's view: the latest 100.
            try db.execute(
                sql: """
                    DELETE FROM bulk_jobs WHERE destination_id = (SELECT destination_id FROM bulk_jobs WHERE id = ?)
                    AND finished_at IS NOT NULL AND created_at < (
                        SELECT created_at FROM bulk_jobs INDEXED BY bulk_jobs_recent
                        WHERE destination_id = (SELECT destination_id FROM bulk_jobs WHERE id = ?)
                        ORDER BY created_at DESC LIMIT 1 OFFSET 99)
                    """,
                arguments: [id, id]
            )
        }
    }

    static func jobRecordIds(_ db: Database, destinationId: String, jobId: String, limit: Int) throws -> [String] {
        try String.fetchAll(db, sql: BulkQuery.jobRecords.sql, arguments: [destinationId, jobId, limit])
    }

    static func bulkJob(from row: Row) -> BulkJobSummary {
        let columns: String = row["columns"]
        return BulkJobSummary(
            id: row["id"], destinationId: row["destination_id"], object: row["object"], state: row["state"],
            columns: columns.isEmpty ? [] : columns.split(separator: ",").map(String.init), records: row["records"],
            processed: row["processed"], failed: row["failed"], uploaded: (row["uploaded"] as Int) != 0,
            createdAt: Date(timeIntervalSince1970: row["created_at"]),
            finishedAt: (row["finished_at"] as Double?).map(Date.init(timeIntervalSince1970:))
        )
    }

    /// The destination's threshold for the bulk lane; nil when bulk is off for it.
    static func bulkThreshold(_ db: Database, destinationId: String) throws -> Int? {
        try Int.fetchOne(db, sql: "SELECT bulk_threshold FROM destinations WHERE id = ?", arguments: [destinationId])
    }
}

extension QueueWriter {
    /// Puts records a backfill just queued into the bulk lane: those queued and not in flight
    /// (a record in a collections request stays with collections), and not written to another
    /// object (a converted lead followed to its Contact: a Lead job would be refused again).
    func markBulkLane(_ destinationId: String, _ recordIds: [String]) throws {
        guard !recordIds.isEmpty else { return }
        let mark = try SQLiteCall(self.db, """
            UPDATE records SET in_flight = 2, due_at = NULL
            WHERE destination_id = ? AND record_id = ? AND pending IS NOT NULL AND in_flight = 0 AND target_object IS NULL
            """)
        for id in recordIds {
            mark.bind(1, destinationId)
            mark.bind(2, id)
            try mark.run()
        }
    }

    /// At the end of a backfill: a lane of at least `threshold` records stays for bulk jobs;
    /// a smaller one goes to collections.
    mutating func finishBulkLane(_ destinationId: String, threshold: Int) throws {
        let count = try Int.fetchOne(self.db, sql: SQLiteStore.BulkQuery.laneCount.sql, arguments: [destinationId]) ?? 0
        if count < threshold { _ = try self.releaseBulkLane(destinationId) }
    }

    /// The lane's records go to collections, due now.
    mutating func releaseBulkLane(_ destinationId: String) throws -> Int {
        try self.db.execute(
            sql: """
                UPDATE records INDEXED BY records_due SET in_flight = 0, due_at = ?
                WHERE destination_id = ? AND pending IS NOT NULL AND in_flight = 2
                """,
            arguments: [self.now.timeIntervalSince1970, destinationId]
        )
        return self.db.changesCount
    }

    /// The records no longer belong to their job. A record whose entry is still in flight (a job
    /// that stopped early: never) would keep pointing at nothing, so only settled rows and rows
    /// queued again are taken out; `complete` and `retry` made them so.
    func leaveBulkJob(destinationId: String, recordIds: [String]) throws {
        let leave = try SQLiteCall(self.db, "UPDATE records SET bulk_job = NULL WHERE destination_id = ? AND record_id = ?")
        for id in recordIds {
            leave.bind(1, destinationId)
            leave.bind(2, id)
            try leave.run()
        }
    }

    /// Takes lane records into a job (see `BulkQueue.claimForBulkJob`), by `QueueLedger.offer`.
    mutating func claimForBulkJob(
        destinationId: String, jobId: String, columns: [String]?, after: BulkLaneCursor?, maxRecords: Int, maxBytes: Int,
        rowSize: ([FieldValue]) -> Int
    ) throws -> BulkLanePage {
        // A destination a policy paused puts nothing more into a job.
        if try self.isPausedByPolicy(destinationId) { return BulkLanePage(columns: columns, records: [], cursor: nil, full: false) }
        var fill = BulkJobFill(columns: columns, after: after, maxRecords: maxRecords, maxBytes: maxBytes)
        var exhausted = false
        let page = try SQLiteCall(self.db, SQLiteStore.BulkQuery.lanePage.sql)
        let enter = try SQLiteCall(self.db, "UPDATE records SET in_flight = 3, bulk_job = ? WHERE destination_id = ? AND record_id = ?")
        scan: while !fill.isDone {
            page.reset()
            page.bind(1, destinationId)
            page.bind(2, fill.cursor.attempts)
            page.bind(3, fill.cursor.recordId)
            page.bind(4, 1_000)
            var rows: [RecordRow] = []
            while try page.step() { rows.append(Self.recordRow(from: page)) }
            page.reset()
            if rows.isEmpty {
                exhausted = true
                break
            }
            for record in rows {
                guard !fill.isDone else { break scan }
                guard case .save(let saved, let entersJob) = self.ledger.offer(record, to: &fill, rowSize: rowSize) else { continue }
                try self.storeRecord(saved)
                try self.applyEffects()
                if entersJob {
                    enter.bind(1, jobId)
                    enter.bind(2, destinationId)
                    enter.bind(3, saved.recordId)
                    try enter.run()
                }
            }
        }
        return fill.page(exhausted: exhausted)
    }
}
