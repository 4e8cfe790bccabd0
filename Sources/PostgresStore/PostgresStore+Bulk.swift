import Activation
import Foundation
import PostgresNIO
import Store

/// The bulk lane on PostgreSQL (see `BulkQueue`), as on SQLite: `records.in_flight` 2 (in the
/// lane) and 3 (in the job `records.bulk_job`), the jobs in `bulk_jobs`; what a record does in the
/// lane is `QueueLedger`'s. Lane pages are locked with `SKIP LOCKED`, so two processes filling jobs
/// of one destination at once put different records in them.
extension PostgresStore: BulkQueue {
    public func bulkWork(destinationId: String) async throws -> BulkWork {
        let running = try await self.rows("SELECT backfill_after IS NOT NULL AS running FROM destinations WHERE id = \(destinationId)")
            .first?.value("running", as: Bool.self) ?? true
        let lane = running ? false : try await self.rows(PostgresPeriodicQuery.bulkLaneAny.query(destinationId))
            .first?.value("lane", as: Bool.self) ?? false
        let jobs = try await self.rows(PostgresPeriodicQuery.unfinishedBulkJobs.query(destinationId)).map(Self.bulkJob(from:))
        return BulkWork(laneReady: lane, unfinishedJobs: jobs)
    }

    public func recordBulkJob(id: String, destinationId: String, object: String, now: Date) async throws {
        try await self.client.query("""
            INSERT INTO bulk_jobs (id, destination_id, object, state, created_at)
            VALUES (\(id), \(destinationId), \(object), 'Open', \(now.timeIntervalSince1970))
            """, logger: self.logger)
    }

    public func claimForBulkJob(
        destinationId: String, jobId: String, columns: [String]?, after: BulkLaneCursor?, maxRecords: Int, maxBytes: Int,
        rowSize: @escaping @Sendable ([FieldValue]) -> Int, now: Date
    ) async throws -> BulkLanePage {
        try await self.queueTransaction(now: now) { writer in
            // A destination a policy paused puts nothing more into a job.
            if try await writer.isPausedByPolicy(destinationId) { return BulkLanePage(columns: columns, records: [], cursor: nil, full: false) }
            var fill = BulkJobFill(columns: columns, after: after, maxRecords: maxRecords, maxBytes: maxBytes)
            var exhausted = false
            scan: while !fill.isDone {
                let page = try await writer.rows("""
                    SELECT \(unescaped: PostgresQueueWriter.recordColumns) FROM records
                    WHERE destination_id = \(destinationId) AND pending IS NOT NULL AND in_flight = 2 AND due_at IS NULL
                        AND (attempts, record_id) > (\(fill.cursor.attempts), \(fill.cursor.recordId))
                    ORDER BY attempts, record_id LIMIT 1000 FOR UPDATE SKIP LOCKED
                    """).map(PostgresQueueWriter.record(from:))
                if page.isEmpty {
                    exhausted = true
                    break
                }
                for record in page {
                    guard !fill.isDone else { break scan }
                    guard case .save(let saved, let entersJob) = writer.ledger.offer(record, to: &fill, rowSize: rowSize) else { continue }
                    try await writer.storeRecord(saved)
                    try await writer.applyEffects()
                    if entersJob {
                        try await writer.execute("""
                            UPDATE records SET in_flight = 3, bulk_job = \(jobId) WHERE destination_id = \(destinationId) AND record_id = \(saved.recordId)
                            """)
                    }
                }
            }
            return fill.page(exhausted: exhausted)
        }
    }

    public func updateBulkJob(id: String, state: String, processed: Int, failed: Int, records: Int?, columns: [String]?, uploaded: Bool?) async throws {
        try await self.client.query("""
            UPDATE bulk_jobs SET state = \(state), processed = \(processed), failed = \(failed), records = COALESCE(\(records), records),
                columns = COALESCE(\(columns.map { $0.joined(separator: ",") }), columns), uploaded = COALESCE(\(uploaded), uploaded)
            WHERE id = \(id)
            """, logger: self.logger)
    }

    public func applyBulkResults(
        destinationId: String, jobId: String, results: [String: DeliveryResult], unreported: DeliveryResult,
        state: String, processed: Int, failed: Int, pageSize: Int, now: Date
    ) async throws -> Int {
        let applied = try await inPages(of: pageSize) {
            try await self.queueTransaction(now: now) { writer in
                let ids = try await writer.jobRecordIds(destinationId: destinationId, jobId: jobId, limit: pageSize)
                guard !ids.isEmpty else { return 0 }
                var outcomes: [String: DeliveryResult] = [:]
                for id in ids { outcomes[id] = results[id] ?? unreported }
                _ = try await writer.complete(destinationId: destinationId, results: outcomes, claim: nil)
                try await writer.leaveBulkJob(destinationId: destinationId, recordIds: ids)
                return ids.count
            }
        }
        try await self.finishBulkJob(id: jobId, state: state, processed: processed, failed: failed, now: now)
        return applied
    }

    public func returnBulkJobToLane(destinationId: String, jobId: String, state: String, now: Date) async throws -> Int {
        let returned = try await inPages(of: 5_000) {
            try await self.queueTransaction(now: now) { writer in
                let ids = try await writer.jobRecordIds(destinationId: destinationId, jobId: jobId, limit: 5_000)
                for id in ids {
                    // Nothing of the job was written: what it held is queued again, under any newer change.
                    var record = try await writer.lockRecord(destinationId, id)
                    writer.ledger.returnToLane(&record, jobState: state)
                    try await writer.storeRecord(record)
                }
                try await writer.applyEffects()
                try await writer.leaveBulkJob(destinationId: destinationId, recordIds: ids)
                try await writer.markBulkLane(destinationId, ids)
                return ids.count
            }
        }
        try await self.finishBulkJob(id: jobId, state: state, processed: 0, failed: 0, now: now)
        return returned
    }

    public func releaseBulkLane(destinationId: String, now: Date) async throws -> Int {
        try await self.queueTransaction(now: now) { writer in
            try await writer.releaseBulkLane(destinationId)
        }
    }

    public func recentBulkJobs(destinationId: String, limit: Int) async throws -> [BulkJobSummary] {
        try await self.rows("""
            SELECT * FROM bulk_jobs WHERE destination_id = \(destinationId) ORDER BY created_at DESC, id DESC LIMIT \(limit)
            """).map(Self.bulkJob(from:))
    }

    private func finishBulkJob(id: String, state: String, processed: Int, failed: Int, now: Date) async throws {
        try await self.transaction { connection in
            let finished = try await self.rows("""
                UPDATE bulk_jobs SET state = \(state), processed = \(processed), failed = \(failed), finished_at = \(now.timeIntervalSince1970)
                WHERE id = \(id) RETURNING destination_id
                """, on: connection)
            guard let destinationId = try finished.first?.value("destination_id", as: String.self) else { return }
            // Finished jobs are kept for the destination's view: the latest 100.
            try await connection.query("""
                DELETE FROM bulk_jobs WHERE destination_id = \(destinationId) AND finished_at IS NOT NULL AND created_at < (
                    SELECT created_at FROM bulk_jobs WHERE destination_id = \(destinationId) ORDER BY created_at DESC LIMIT 1 OFFSET 99)
                """, logger: self.logger)
        }
    }

    static func bulkJob(from row: PostgresRandomAccessRow) throws -> BulkJobSummary {
        let columns = try row.value("columns", as: String.self)
        return BulkJobSummary(
            id: try row.value("id"), destinationId: try row.value("destination_id"), object: try row.value("object"),
            state: try row.value("state"), columns: columns.isEmpty ? [] : columns.split(separator: ",").map(String.init),
            records: try row.value("records"), processed: try row.value("processed"), failed: try row.value("failed"),
            uploaded: try row.value("uploaded"), createdAt: try row.date("created_at"), finishedAt: try row.optionalDate("finished_at")
        )
    }
}

extension PostgresQueueWriter {
    func jobRecordIds(destinationId: String, jobId: String, limit: Int) async throws -> [String] {
        try await self.rows("""
            SELECT record_id FROM records WHERE destination_id = \(destinationId) AND bulk_job = \(jobId) ORDER BY record_id LIMIT \(limit)
            """).map { try $0.value("record_id", as: String.self) }
    }

    /// Puts records a backfill just queued into the bulk lane: those queued and not in flight
    /// (a record in a collections request stays with collections), and not written to another
    /// object (a converted lead followed to its Contact: a Lead job would be refused again).
    func markBulkLane(_ destinationId: String, _ recordIds: [String]) async throws {
        guard !recordIds.isEmpty else { return }
        try await self.execute("""
            UPDATE records SET in_flight = 2, due_at = NULL
            WHERE destination_id = \(destinationId) AND record_id = ANY(\(recordIds)) AND pending IS NOT NULL AND in_flight = 0
                AND target_object IS NULL
            """)
    }

    /// At the end of a backfill: a lane of at least `threshold` records stays for bulk jobs; a
    /// smaller one goes to collections.
    func finishBulkLane(_ destinationId: String, threshold: Int) async throws {
        let count = try await self.rows("""
            SELECT count(*) AS count FROM records WHERE destination_id = \(destinationId) AND pending IS NOT NULL AND in_flight = 2
            """).first?.value("count", as: Int.self) ?? 0
        if count < threshold { _ = try await self.releaseBulkLane(destinationId) }
    }

    /// The lane's records go to collections, due now.
    func releaseBulkLane(_ destinationId: String) async throws -> Int {
        try await self.rows("""
            UPDATE records SET in_flight = 0, due_at = \(self.ledger.now.timeIntervalSince1970)
            WHERE destination_id = \(destinationId) AND pending IS NOT NULL AND in_flight = 2 RETURNING 1 AS released
            """).count
    }

    /// The records no longer belong to their job.
    func leaveBulkJob(destinationId: String, recordIds: [String]) async throws {
        guard !recordIds.isEmpty else { return }
        try await self.execute("UPDATE records SET bulk_job = NULL WHERE destination_id = \(destinationId) AND record_id = ANY(\(recordIds))")
    }
}
