import Foundation
import GRDB
import SfdestJSON

extension SQLiteStore {
    /// API keys by the hash of their material (unique, so indexed: a lookup costs the same with
    /// ten keys or ten thousand) and the audit log, its rowid in insertion order.
    static func migrateKeysAndAudit(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE api_keys (
                id TEXT PRIMARY KEY, name TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE, permissions TEXT NOT NULL,
                created_at REAL NOT NULL, expires_at REAL, revoked_at REAL, last_used_at REAL, created_by TEXT);
            CREATE TABLE audit_log (
                seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, at REAL NOT NULL, key_id TEXT, key_name TEXT,
                action TEXT NOT NULL, target_id TEXT, before TEXT NOT NULL, after TEXT NOT NULL);
            CREATE INDEX audit_log_at ON audit_log(at);
            """)
    }

    // MARK: keys

    public func createAPIKey(_ key: APIKey, audit: AuditEntry) async throws {
        let retention = self.limits
        try await self.write { db in
            try db.execute(
                sql: """
                    INSERT INTO api_keys (id, name, key_hash, permissions, created_at, expires_at, revoked_at, last_used_at, created_by)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    key.id, key.name, key.keyHash, StoredJSON.encode(key.permissions.map(\.rawValue)),
                    key.createdAt.timeIntervalSince1970, key.expiresAt?.timeIntervalSince1970, key.revokedAt?.timeIntervalSince1970,
                    key.lastUsedAt?.timeIntervalSince1970, key.createdBy,
                ]
            )
            try Self.insertAudit(audit, db, retention: retention)
        }
    }

    public func apiKey(hash: String) async throws -> APIKey? {
        try await self.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM api_keys WHERE key_hash = ?", arguments: [hash]).map(Self.apiKey(from:))
        }
    }

    public func apiKeys() async throws -> [APIKey] {
        try await self.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_keys ORDER BY created_at, id").map(Self.apiKey(from:))
        }
    }

    public func revokeAPIKey(id: String, at: Date, audit: @escaping @Sendable (APIKey, APIKey) -> AuditEntry) async throws -> APIKey? {
        let retention = self.limits
        return try await self.write { db in
            guard let before = try Row.fetchOne(db, sql: "SELECT * FROM api_keys WHERE id = ?", arguments: [id]).map(Self.apiKey(from:)) else {
                return nil
            }
            guard before.revokedAt == nil else { return before }
            var after = before
            after.revokedAt = at
            // With it, every key it created (and they created): a revoked key leaves no heirs.
            try db.execute(
                sql: """
                    WITH RECURSIVE heirs(id) AS (
                        SELECT ? UNION SELECT k.id FROM api_keys k JOIN heirs h ON k.created_by = h.id)
                    UPDATE api_keys SET revoked_at = ? WHERE id IN (SELECT id FROM heirs) AND revoked_at IS NULL
                    """,
                arguments: [id, at.timeIntervalSince1970]
            )
            try Self.insertAudit(audit(before, after), db, retention: retention)
            return after
        }
    }

    public func apiKeyUsed(id: String, at: Date) async throws {
        try await self.write { db in
            try db.execute(sql: "UPDATE api_keys SET last_used_at = ? WHERE id = ?", arguments: [at.timeIntervalSince1970, id])
        }
    }

    private static func apiKey(from row: Row) -> APIKey {
        let permissions: String = row["permissions"]
        return APIKey(
            id: row["id"], name: row["name"],
            // A permission this version does not know grants nothing.
            permissions: StoredJSON.decodeStrings(permissions).compactMap(Permission.init(rawValue:)),
            keyHash: row["key_hash"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
            expiresAt: (row["expires_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
            revokedAt: (row["revoked_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
            lastUsedAt: (row["last_used_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
            createdBy: row["created_by"]
        )
    }

    // MARK: audit

    public func recordAudit(_ entry: AuditEntry) async throws {
        let retention = self.limits
        try await self.write { db in try Self.insertAudit(entry, db, retention: retention) }
    }

    public func auditEntries(limit: Int) async throws -> [AuditEntry] {
        try await self.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit_log ORDER BY seq DESC LIMIT ?", arguments: [limit]).map { row in
                let before: String = row["before"]
                let after: String = row["after"]
                return AuditEntry(
                    id: row["id"], at: Date(timeIntervalSince1970: row["at"]), keyId: row["key_id"], keyName: row["key_name"],
                    action: row["action"], targetId: row["target_id"],
                    before: (try? JSONParser.parse(before)) ?? .null, after: (try? JSONParser.parse(after)) ?? .null
                )
            }
        }
    }

    /// Inserts an entry, then drops what is past the retention: rows more than `auditEntries`
    /// behind the new one (a range of the rowid) and rows older than `auditDays` (the `at`
    /// index). Each insert deletes at most what the previous ones let through, so pruning costs
    /// almost nothing.
    private static func insertAudit(_ entry: AuditEntry, _ db: Database, retention: Limits) throws {
        try db.execute(
            sql: """
                INSERT INTO audit_log (id, at, key_id, key_name, action, target_id, before, after)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                entry.id, entry.at.timeIntervalSince1970, entry.keyId, entry.keyName, entry.action, entry.targetId,
                JSONWriter.text(entry.before), JSONWriter.text(entry.after),
            ]
        )
        let newest = db.lastInsertedRowID
        try db.execute(sql: "DELETE FROM audit_log WHERE seq <= ?", arguments: [newest - Int64(max(retention.auditEntries, 1))])
        let cutoff = entry.at.timeIntervalSince1970 - Double(retention.auditDays) * 86_400
        try db.execute(sql: "DELETE FROM audit_log WHERE at < ?", arguments: [cutoff])
    }
}
