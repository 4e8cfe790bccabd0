import Foundation
import PostgresNIO
import SfdestJSON
import Store

extension PostgresStore: AccessStore {
    public func createAPIKey(_ key: APIKey, audit: AuditEntry) async throws {
        try await self.transaction { connection in
            try await connection.query(
                """
                INSERT INTO api_keys (id, name, key_hash, permissions, created_at, expires_at, revoked_at, last_used_at, created_by)
                VALUES (\(key.id), \(key.name), \(key.keyHash), \(key.permissions.map(\.rawValue)), \(key.createdAt.timeIntervalSince1970),
                    \(key.expiresAt?.timeIntervalSince1970), \(key.revokedAt?.timeIntervalSince1970), \(key.lastUsedAt?.timeIntervalSince1970),
                    \(key.createdBy))
                """,
                logger: self.logger
            )
            try await self.insertAudit(audit, on: connection)
        }
    }

    public func apiKey(hash: String) async throws -> APIKey? {
        try await self.rows("SELECT * FROM api_keys WHERE key_hash = \(hash)").first.map(Self.apiKey(from:))
    }

    public func apiKeys() async throws -> [APIKey] {
        try await self.rows("SELECT * FROM api_keys ORDER BY created_at, id").map(Self.apiKey(from:))
    }

    public func revokeAPIKey(id: String, at: Date, audit: @escaping @Sendable (APIKey, APIKey) -> AuditEntry) async throws -> APIKey? {
        try await self.transaction { connection in
            guard let before = try await self.rows("SELECT * FROM api_keys WHERE id = \(id) FOR UPDATE", on: connection).first.map(Self.apiKey(from:)) else {
                return nil
            }
            guard before.revokedAt == nil else { return before }
            var after = before
            after.revokedAt = at
            // With it, every key it created (and they created): a revoked key leaves no heirs.
            try await connection.query(
                """
                WITH RECURSIVE heirs(id) AS (
                    SELECT \(id)::text UNION SELECT k.id FROM api_keys k JOIN heirs h ON k.created_by = h.id)
                UPDATE api_keys SET revoked_at = \(at.timeIntervalSince1970) WHERE id IN (SELECT id FROM heirs) AND revoked_at IS NULL
                """,
                logger: self.logger
            )
            try await self.insertAudit(audit(before, after), on: connection)
            return after
        }
    }

    public func apiKeyUsed(id: String, at: Date) async throws {
        try await self.client.query("UPDATE api_keys SET last_used_at = \(at.timeIntervalSince1970) WHERE id = \(id)", logger: self.logger)
    }

    public func recordAudit(_ entry: AuditEntry) async throws {
        try await self.transaction { connection in try await self.insertAudit(entry, on: connection) }
    }

    public func auditEntries(limit: Int) async throws -> [AuditEntry] {
        try await self.rows("SELECT * FROM audit_log ORDER BY seq DESC LIMIT \(Int64(max(0, limit)))").map { row in
            AuditEntry(
                id: try row.value("id"), at: try row.date("at"), keyId: try row.value("key_id"), keyName: try row.value("key_name"),
                action: try row.value("action"), targetId: try row.value("target_id"),
                before: (try? JSONParser.parse(try row.value("before", as: String.self))) ?? .null,
                after: (try? JSONParser.parse(try row.value("after", as: String.self))) ?? .null
            )
        }
    }

    private static func apiKey(from row: PostgresRandomAccessRow) throws -> APIKey {
        APIKey(
            id: try row.value("id"), name: try row.value("name"),
            // A permission this version does not know grants nothing.
            permissions: try row.value("permissions", as: [String].self).compactMap(Permission.init(rawValue:)),
            keyHash: try row.value("key_hash"), createdAt: try row.date("created_at"), expiresAt: try row.optionalDate("expires_at"),
            revokedAt: try row.optionalDate("revoked_at"), lastUsedAt: try row.optionalDate("last_used_at"),
            createdBy: try row.value("created_by")
        )
    }

    /// Inserts an entry, then drops what is past the retention: rows more than `auditEntries`
    /// behind the new one and rows older than `auditDays` (both by index).
    private func insertAudit(_ entry: AuditEntry, on connection: PostgresConnection) async throws {
        let inserted = try await self.rows(
            """
            INSERT INTO audit_log (id, at, key_id, key_name, action, target_id, before, after)
            VALUES (\(entry.id), \(entry.at.timeIntervalSince1970), \(entry.keyId), \(entry.keyName), \(entry.action), \(entry.targetId),
                \(JSONWriter.text(entry.before)), \(JSONWriter.text(entry.after)))
            RETURNING seq
            """,
            on: connection
        )
        let newest = try inserted.first?.value("seq", as: Int64.self) ?? 0
        try await connection.query("DELETE FROM audit_log WHERE seq <= \(newest - Int64(max(self.limits.auditEntries, 1)))", logger: self.logger)
        let cutoff = entry.at.timeIntervalSince1970 - Double(self.limits.auditDays) * 86_400
        try await connection.query("DELETE FROM audit_log WHERE at < \(cutoff)", logger: self.logger)
    }
}
