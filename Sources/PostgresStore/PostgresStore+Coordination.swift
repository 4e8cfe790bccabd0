import Foundation
import PostgresNIO
import Store

// Turns (work one process does at a time) and the Salesforce sessions every process shares.

extension PostgresStore: TurnStore {
    public func takeTurn(_ name: String, holder: Int64, lease: TimeInterval, now: Date) async throws -> Bool {
        let at = now.timeIntervalSince1970
        let rows = try await self.rows("""
            INSERT INTO turns (name, holder, until) VALUES (\(name), \(holder), \(at + lease))
            ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
            WHERE turns.holder = excluded.holder OR turns.until < \(at)
            RETURNING holder
            """)
        return !rows.isEmpty
    }

    public func releaseTurn(_ name: String, holder: Int64) async throws {
        try await self.client.query("DELETE FROM turns WHERE name = \(name) AND holder = \(holder)", logger: self.logger)
    }
}

extension PostgresStore: SessionStore {
    public func storedSession(connectionId: String, credentialsAt: Date) async throws -> Data? {
        let sealed = try await self.rows("""
            SELECT sealed FROM salesforce_sessions WHERE connection_id = \(connectionId) AND credentials_at = \(credentialsAt.timeIntervalSince1970)
            """).first?.value("sealed", as: Data.self)
        return try sealed.map { try self.secrets.open($0, boundTo: SealContext.session(connectionId, credentialsAt: credentialsAt)) }
    }

    public func saveSession(_ session: Data, connectionId: String, credentialsAt: Date, at now: Date) async throws {
        let sealed = try self.secrets.seal(session, boundTo: SealContext.session(connectionId, credentialsAt: credentialsAt))
        try await self.client.query("""
            INSERT INTO salesforce_sessions (connection_id, credentials_at, sealed, stored_at)
            VALUES (\(connectionId), \(credentialsAt.timeIntervalSince1970), \(sealed), \(now.timeIntervalSince1970))
            ON CONFLICT (connection_id) DO UPDATE SET credentials_at = excluded.credentials_at, sealed = excluded.sealed, stored_at = excluded.stored_at
            """, logger: self.logger)
    }
}
