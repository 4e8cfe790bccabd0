import Activation
import Foundation
import GRDB

/// Data usage labels (`GovernanceStore`).
extension SQLiteStore {
    public func labels() async throws -> [SourceLabels] {
        try await self.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT source, labels FROM data_labels ORDER BY source").compactMap { row in
                SourceLabels.read(source: row["source"], labels: row["labels"])
            }
        }
    }

    public func replaceLabels(_ labels: [SourceLabels], saving destinations: [Destination]) async throws {
        try await self.write { db in
            try db.execute(sql: "DELETE FROM data_labels")
            for labelled in labels where !labelled.labels.isEmpty {
                try db.execute(
                    sql: "INSERT INTO data_labels (source, labels) VALUES (?, ?)", arguments: [labelled.source.text, labelled.storedLabels]
                )
            }
            for destination in destinations { try Self.save(destination, in: db) }
        }
    }
}

/// Profiles by identity: lookup and erasure (`ProfileStore`).
extension SQLiteStore {
    public func storedProfile(namespace: String, value: String) async throws -> StoredProfile? {
        try await self.pool.read { db in try Self.storedProfile(namespace: namespace, value: value, in: db) }
    }

    static func storedProfile(namespace: String, value: String, in db: Database) throws -> StoredProfile? {
        guard let id = try Int64.fetchOne(db, sql: "SELECT profile_id FROM identities WHERE namespace = ? AND value = ?", arguments: [namespace, value]),
              let body = try Data.fetchOne(db, sql: "SELECT body FROM profiles WHERE id = ?", arguments: [id])
        else { return nil }
        return StoredProfile(id: id, profile: body.withUnsafeBytes(StoredBinary.decodeProfile))
    }

    /// With secure delete, and the WAL truncated after: the profile's bytes leave both files.
    public func eraseProfile(namespace: String, value: String, destinations: [ActiveDestination]) async throws -> ProfileErasure? {
        try await self.erase { db in
            guard let stored = try Self.storedProfile(namespace: namespace, value: value, in: db) else { return nil }
            var writer = QueueWriter(db: db, now: Date())
            var erasure = ProfileErasure(profileId: stored.id, identities: 0, records: 0, queuedChanges: 0)
            for destination in destinations {
                let keys = [destination.plan.recordKey(of: stored.profile), "profile:\(stored.id)"].compactMap { $0 }
                for key in keys {
                    let row = try writer.loadRecord(destination.id, key)
                    writer.ledger.deleting(row)
                    if row.exists {
                        erasure.records += 1
                        if row.pending != nil { erasure.queuedChanges += 1 }
                    }
                    for table in ["records", "record_history"] {
                        try db.execute(sql: "DELETE FROM \(table) WHERE destination_id = ? AND record_id = ?", arguments: [destination.id, key])
                    }
                    try db.execute(sql: "DELETE FROM failures WHERE destination_id = ? AND record_key = ?", arguments: [destination.id, key])
                }
            }
            writer.ledger.countMemberships(before: stored.profile, after: Profile(), changed: stored.profile.memberships.keys)
            try writer.flush()
            // By key: every identity the profile holds that links to it (one another profile took
            // first keeps its link).
            for (namespace, values) in stored.profile.identities {
                for value in values {
                    try db.execute(
                        sql: "DELETE FROM identities WHERE namespace = ? AND value = ? AND profile_id = ?", arguments: [namespace, value, stored.id]
                    )
                    erasure.identities += db.changesCount
                }
            }
            try db.execute(sql: "DELETE FROM profiles WHERE id = ?", arguments: [stored.id])
            try db.execute(sql: "UPDATE store_counts SET value = value - 1 WHERE name = 'profiles'")
            return erasure
        }
    }
}
