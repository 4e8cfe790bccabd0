import Activation
import Foundation
import PostgresNIO
import Store

// Data usage labels, shared by every process of the deployment.

extension PostgresStore: GovernanceStore {
    public func labels() async throws -> [SourceLabels] {
        try await self.rows("SELECT source, labels FROM data_labels ORDER BY source").compactMap { row in
            SourceLabels.read(source: try row.value("source", as: String.self), labels: try row.value("labels", as: String.self))
        }
    }

    public func replaceLabels(_ labels: [SourceLabels], saving destinations: [Destination]) async throws {
        try await self.transaction { connection in
            // One writer of labels at a time: two replacements never interleave their rows.
            try await connection.query("LOCK TABLE data_labels IN EXCLUSIVE MODE", logger: self.logger)
            try await connection.query("DELETE FROM data_labels", logger: self.logger)
            for labelled in labels where !labelled.labels.isEmpty {
                try await connection.query(
                    "INSERT INTO data_labels (source, labels) VALUES (\(labelled.source.text), \(labelled.storedLabels))", logger: self.logger
                )
            }
            for destination in destinations { try await self.save(destination, on: connection) }
        }
    }
}

// Profiles by identity: lookup and erasure.

extension PostgresStore: ProfileStore {
    public func storedProfile(namespace: String, value: String) async throws -> StoredProfile? {
        let found = try await self.rows("""
            SELECT p.id, p.body FROM identities i JOIN profiles p ON p.id = i.profile_id
            WHERE i.namespace = \(namespace) AND i.value = \(value)
            """).first
        return try found.map { row in
            StoredProfile(
                id: try row.value("id", as: Int64.self),
                profile: try row.value("body", as: Data.self).withUnsafeBytes { StoredBinary.decodeProfile($0) }
            )
        }
    }

    /// Under the identities' advisory locks, as ingest takes them: a fragment of the same person
    /// arriving meanwhile merges before the erasure (and is erased) or after it (a new profile).
    /// PostgreSQL keeps deleted row versions until `VACUUM` reclaims them (`docs/deployment.md`).
    public func eraseProfile(namespace: String, value: String, destinations: [ActiveDestination]) async throws -> ProfileErasure? {
        guard let seen = try await self.storedProfile(namespace: namespace, value: value) else { return nil }
        return try await self.queueTransaction(now: Date()) { writer in
            try await writer.lockIdentities(of: [seen.profile, Profile(identities: [namespace: [value]])])
            guard let id = try await writer.rows("SELECT profile_id FROM identities WHERE namespace = \(namespace) AND value = \(value)")
                .first?.value("profile_id", as: Int64.self)
            else { return nil }
            let profile = try await writer.profile(id)
            var erasure = ProfileErasure(profileId: id, identities: 0, records: 0, queuedChanges: 0)
            for destination in destinations {
                for key in [destination.plan.recordKey(of: profile), "profile:\(id)"].compactMap({ $0 }) {
                    let row = try await writer.lockRecord(destination.id, key)
                    writer.ledger.deleting(row)
                    if row.exists {
                        erasure.records += 1
                        if row.pending != nil { erasure.queuedChanges += 1 }
                    }
                    try await writer.execute("DELETE FROM records WHERE destination_id = \(destination.id) AND record_id = \(key)")
                    try await writer.execute("DELETE FROM record_history WHERE destination_id = \(destination.id) AND record_id = \(key)")
                    try await writer.execute("DELETE FROM failures WHERE destination_id = \(destination.id) AND record_key = \(key)")
                }
            }
            writer.ledger.countMemberships(before: profile, after: Profile(), changed: profile.memberships.keys)
            // By key: every identity the profile holds that links to it (one another profile took
            // first keeps its link).
            let links = profile.identities.flatMap { namespace, values in values.map { (namespace, $0) } }
            erasure.identities = try await writer.rows("""
                DELETE FROM identities i USING unnest(\(links.map(\.0))::text[], \(links.map(\.1))::text[]) AS l(namespace, value)
                WHERE i.namespace = l.namespace AND i.value = l.value AND i.profile_id = \(id) RETURNING 1 AS gone
                """).count
            try await writer.execute("DELETE FROM profiles WHERE id = \(id)")
            try await writer.execute("UPDATE store_counts SET value = value - 1 WHERE name = 'profiles'")
            writer.ahead.profiles[id] = nil
            return erasure
        }
    }
}
