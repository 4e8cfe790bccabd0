import Activation
import Foundation
import GRDB

extension SQLiteStore {
    public func ingest(_ fragments: [Profile], into destinations: [ActiveDestination], at now: Date) async throws -> IngestSummary {
        try await self.write { db in
            var writer = QueueWriter(db: db, now: now)
            var summary = IngestSummary()
            for fragment in fragments {
                let (profileId, merged) = try writer.mergeProfile(fragment)
                summary.profiles += 1
                for destination in destinations {
                    let counts = try writer.fanOut(merged, profileId: profileId, to: destination)
                    if counts.received > 0 { summary.perDestination[destination.id, default: OutcomeCounts()] += counts }
                }
            }
            try writer.flush()
            return summary
        }
    }

    public func backfill(_ destination: ActiveDestination, after: Int64, limit: Int, at now: Date) async throws -> BackfillProgress {
        try await self.write { db in
            var writer = QueueWriter(db: db, now: now)
            var counts = OutcomeCounts()
            var last: Int64?
            let page = try SQLiteCall(db, "SELECT id, body FROM profiles WHERE id > ? ORDER BY id LIMIT ?")
            page.reset()
            page.bind(1, after)
            page.bind(2, limit)
            var profiles: [(id: Int64, profile: Profile)] = []
            while try page.step() {
                profiles.append((page.int64(0) ?? 0, page.withBytes(1) { $0.map(StoredBinary.decodeProfile) ?? Profile() }))
            }
            page.reset()
            // With a bulk threshold, what the backfill queues waits in the bulk lane (`BulkQueue`).
            let bulkThreshold = try Self.bulkThreshold(db, destinationId: destination.id)
            if bulkThreshold != nil { writer.queuedRecordIds = [] }
            for (id, profile) in profiles {
                counts += try writer.fanOut(profile, profileId: id, to: destination)
                last = id
            }
            try writer.markBulkLane(destination.id, writer.queuedRecordIds ?? [])
            let next = profiles.count < limit ? nil : last
            if next == nil, let bulkThreshold { try writer.finishBulkLane(destination.id, threshold: bulkThreshold) }
            try writer.flush()
            // The cursor moves in the same transaction as the page: a crash resumes exactly here.
            try db.execute(sql: "UPDATE destinations SET backfill_after = ? WHERE id = ?", arguments: [next, destination.id])
            return BackfillProgress(nextAfter: next, counts: counts)
        }
    }

    public func startBackfill(destinationId: String) async throws {
        try await self.write { db in
            try db.execute(sql: "UPDATE destinations SET backfill_after = 0 WHERE id = ?", arguments: [destinationId])
        }
    }

    public func runningBackfills() async throws -> [String: Int64] {
        try await self.pool.read { db in
            var cursors: [String: Int64] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, backfill_after FROM destinations WHERE backfill_after IS NOT NULL") {
                cursors[row["id"]] = row["backfill_after"]
            }
            return cursors
        }
    }
}
