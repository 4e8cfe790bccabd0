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

    public func backfill(_ destination: ActiveDestination, after: Int64, limit: Int, at now: Date, hold: BackfillHold?) async throws -> BackfillProgress {
        try await self.write { db in
            if let hold {
                let row = try Row.fetchOne(db, sql: "SELECT backfill_after, backfill_holder FROM destinations WHERE id = ?", arguments: [destination.id])
                guard let row, row["backfill_holder"] as Int64? == hold.holder, row["backfill_after"] as Int64? == after else {
                    throw BackfillNotHeld(destinationId: destination.id)
                }
            }
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
            try db.execute(
                sql: "UPDATE destinations SET backfill_after = ?, backfill_held_until = ? WHERE id = ?",
                arguments: [next, hold.map { now.timeIntervalSince1970 + $0.lease }, destination.id]
            )
            return BackfillProgress(nextAfter: next, counts: counts)
        }
    }

    public func startBackfill(destinationId: String) async throws {
        try await self.write { db in
            try db.execute(
                sql: "UPDATE destinations SET backfill_after = 0, backfill_holder = NULL, backfill_held_until = NULL WHERE id = ?",
                arguments: [destinationId]
            )
        }
    }

    public func claimBackfills(_ hold: BackfillHold, now: Date) async throws -> [String: Int64] {
        try await self.write { db in
            let at = now.timeIntervalSince1970
            var cursors: [String: Int64] = [:]
            let free = try Row.fetchAll(db, sql: """
                SELECT id, backfill_after FROM destinations
                WHERE backfill_after IS NOT NULL AND status IN ('enabled', 'paused_policy')
                  AND (backfill_holder IS NULL OR backfill_holder = ? OR backfill_held_until < ?)
                """, arguments: [hold.holder, at])
            for row in free {
                let id: String = row["id"]
                cursors[id] = row["backfill_after"]
                try db.execute(
                    sql: "UPDATE destinations SET backfill_holder = ?, backfill_held_until = ? WHERE id = ?",
                    arguments: [hold.holder, at + hold.lease, id]
                )
            }
            return cursors
        }
    }
}
