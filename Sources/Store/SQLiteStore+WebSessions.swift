import Foundation
import GRDB

/// The web UI's sessions: a row per signed-in browser (bounded by the caps at each sign-in) and its
/// sealed next-page messages.
extension SQLiteStore {
    public func createWebSession(_ session: WebSession, perKey: Int, total: Int, idleBefore: Date, createdBefore: Date) async throws {
        try await self.write { db in
            try db.execute(
                sql: "DELETE FROM web_sessions WHERE last_seen_at < ? OR created_at < ?",
                arguments: [idleBefore.timeIntervalSince1970, createdBefore.timeIntervalSince1970]
            )
            try db.execute(sql: """
                DELETE FROM web_sessions WHERE id_hash IN (
                    SELECT id_hash FROM web_sessions WHERE key_hash = ? ORDER BY last_seen_at DESC LIMIT -1 OFFSET ?)
                """, arguments: [session.keyHash, max(0, perKey - 1)])
            try db.execute(sql: """
                DELETE FROM web_sessions WHERE id_hash IN (SELECT id_hash FROM web_sessions ORDER BY last_seen_at DESC LIMIT -1 OFFSET ?)
                """, arguments: [max(0, total - 1)])
            try db.execute(sql: "DELETE FROM web_flashes WHERE session_hash NOT IN (SELECT id_hash FROM web_sessions)")
            try db.execute(
                sql: "INSERT INTO web_sessions (id_hash, key_hash, key_name, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [session.idHash, session.keyHash, session.keyName, session.createdAt.timeIntervalSince1970, session.lastSeenAt.timeIntervalSince1970]
            )
        }
    }

    public func webSession(idHash: String) async throws -> WebSession? {
        try await self.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM web_sessions WHERE id_hash = ?", arguments: [idHash]).map { row in
                WebSession(
                    idHash: row["id_hash"], keyHash: row["key_hash"], keyName: row["key_name"],
                    createdAt: Date(timeIntervalSince1970: row["created_at"]), lastSeenAt: Date(timeIntervalSince1970: row["last_seen_at"])
                )
            }
        }
    }

    public func touchWebSession(idHash: String, at: Date) async throws {
        try await self.write { db in
            try db.execute(sql: "UPDATE web_sessions SET last_seen_at = ? WHERE id_hash = ?", arguments: [at.timeIntervalSince1970, idHash])
        }
    }

    public func endWebSession(idHash: String) async throws {
        try await self.write { db in
            try db.execute(sql: "DELETE FROM web_flashes WHERE session_hash = ?", arguments: [idHash])
            try db.execute(sql: "DELETE FROM web_sessions WHERE id_hash = ?", arguments: [idHash])
        }
    }

    public func addWebFlash(idHash: String, message: Data, keep: Int) async throws {
        let sealed = try self.secrets.seal(message, boundTo: SealContext.webFlash(idHash))
        try await self.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM web_sessions WHERE id_hash = ?)", arguments: [idHash]) == true else { return }
            try db.execute(sql: "INSERT INTO web_flashes (session_hash, sealed) VALUES (?, ?)", arguments: [idHash, sealed])
            try db.execute(sql: """
                DELETE FROM web_flashes WHERE id IN (
                    SELECT id FROM web_flashes WHERE session_hash = ? ORDER BY id DESC LIMIT -1 OFFSET ?)
                """, arguments: [idHash, max(0, keep)])
        }
    }

    public func takeWebFlashes(idHash: String) async throws -> [Data] {
        let sealed = try await self.write { db -> [Data] in
            let rows = try Data.fetchAll(db, sql: "SELECT sealed FROM web_flashes WHERE session_hash = ? ORDER BY id", arguments: [idHash])
            if !rows.isEmpty { try db.execute(sql: "DELETE FROM web_flashes WHERE session_hash = ?", arguments: [idHash]) }
            return rows
        }
        return try sealed.map { try self.secrets.open($0, boundTo: SealContext.webFlash(idHash)) }
    }
}
