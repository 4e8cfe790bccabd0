import Foundation
import PostgresNIO
import Store

// The web UI's sessions, shared by every `api` process: a row per signed-in browser (bounded by
// the caps at each sign-in) and its sealed next-page messages.

extension PostgresStore: WebSessionStore {
    public func createWebSession(_ session: WebSession, perKey: Int, total: Int, idleBefore: Date, createdBefore: Date) async throws {
        try await self.transaction { connection in
            try await connection.query(
                "DELETE FROM web_sessions WHERE last_seen_at < \(idleBefore.timeIntervalSince1970) OR created_at < \(createdBefore.timeIntervalSince1970)",
                logger: self.logger
            )
            try await connection.query("""
                DELETE FROM web_sessions WHERE id_hash IN (
                    SELECT id_hash FROM web_sessions WHERE key_hash = \(session.keyHash) ORDER BY last_seen_at DESC OFFSET \(max(0, perKey - 1)))
                """, logger: self.logger)
            try await connection.query("""
                DELETE FROM web_sessions WHERE id_hash IN (SELECT id_hash FROM web_sessions ORDER BY last_seen_at DESC OFFSET \(max(0, total - 1)))
                """, logger: self.logger)
            try await connection.query(
                "DELETE FROM web_flashes f WHERE NOT EXISTS (SELECT 1 FROM web_sessions s WHERE s.id_hash = f.session_hash)", logger: self.logger
            )
            try await connection.query("""
                INSERT INTO web_sessions (id_hash, key_hash, key_name, created_at, last_seen_at)
                VALUES (\(session.idHash), \(session.keyHash), \(session.keyName), \(session.createdAt.timeIntervalSince1970),
                    \(session.lastSeenAt.timeIntervalSince1970))
                """, logger: self.logger)
        }
    }

    public func webSession(idHash: String) async throws -> WebSession? {
        try await self.rows("SELECT id_hash, key_hash, key_name, created_at, last_seen_at FROM web_sessions WHERE id_hash = \(idHash)").first.map { row in
            WebSession(
                idHash: try row.value("id_hash", as: String.self), keyHash: try row.value("key_hash", as: String.self),
                keyName: try row.value("key_name", as: String.self),
                createdAt: Date(timeIntervalSince1970: try row.value("created_at", as: Double.self)),
                lastSeenAt: Date(timeIntervalSince1970: try row.value("last_seen_at", as: Double.self))
            )
        }
    }

    public func touchWebSession(idHash: String, at: Date) async throws {
        try await self.client.query("UPDATE web_sessions SET last_seen_at = \(at.timeIntervalSince1970) WHERE id_hash = \(idHash)", logger: self.logger)
    }

    public func endWebSession(idHash: String) async throws {
        try await self.transaction { connection in
            try await connection.query("DELETE FROM web_flashes WHERE session_hash = \(idHash)", logger: self.logger)
            try await connection.query("DELETE FROM web_sessions WHERE id_hash = \(idHash)", logger: self.logger)
        }
    }

    public func addWebFlash(idHash: String, message: Data, keep: Int) async throws {
        let sealed = try self.secrets.seal(message, boundTo: SealContext.webFlash(idHash))
        try await self.transaction { connection in
            let inserted = try await self.rows("""
                INSERT INTO web_flashes (session_hash, sealed)
                SELECT \(idHash), \(sealed) WHERE EXISTS (SELECT 1 FROM web_sessions WHERE id_hash = \(idHash)) RETURNING id
                """, on: connection)
            guard !inserted.isEmpty else { return }
            try await connection.query("""
                DELETE FROM web_flashes WHERE id IN (
                    SELECT id FROM web_flashes WHERE session_hash = \(idHash) ORDER BY id DESC OFFSET \(max(0, keep)))
                """, logger: self.logger)
        }
    }

    public func takeWebFlashes(idHash: String) async throws -> [Data] {
        let sealed = try await self.rows("DELETE FROM web_flashes WHERE session_hash = \(idHash) RETURNING id, sealed")
            .map { (try $0.value("id", as: Int64.self), try $0.value("sealed", as: Data.self)) }
            .sorted { $0.0 < $1.0 }
        return try sealed.map { try self.secrets.open($0.1, boundTo: SealContext.webFlash(idHash)) }
    }
}
