import Foundation
import PostgresNIO
import Store

// Turns (work one process does at a time), and the Salesforce sessions and connection pauses
// every process shares.

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

extension PostgresStore: ConnectionPauseStore {
    public func savePause(_ pause: ConnectionPause) async throws {
        try await self.client.query("""
            INSERT INTO connection_pauses (connection_id, kind, reason, until, refusals)
            VALUES (\(pause.connectionId), \(pause.kind.rawValue), \(pause.reason), \(pause.until.timeIntervalSince1970), \(pause.refusals))
            ON CONFLICT (connection_id) DO UPDATE SET kind = excluded.kind, reason = excluded.reason, until = excluded.until,
                refusals = excluded.refusals
            """, logger: self.logger)
    }

    public func connectionPauses() async throws -> [ConnectionPause] {
        try await self.rows("SELECT connection_id, kind, reason, until, refusals FROM connection_pauses ORDER BY connection_id").compactMap { row in
            guard let kind = ConnectionPause.Kind(rawValue: try row.value("kind", as: String.self)) else { return nil }
            return ConnectionPause(
                connectionId: try row.value("connection_id", as: String.self), kind: kind, reason: try row.value("reason", as: String.self),
                until: Date(timeIntervalSince1970: try row.value("until", as: Double.self)), refusals: try row.value("refusals", as: Int.self)
            )
        }
    }

    public func clearPause(connectionId: String, ranOutBy: Date?) async throws {
        if let ranOutBy {
            try await self.client.query(
                "DELETE FROM connection_pauses WHERE connection_id = \(connectionId) AND until <= \(ranOutBy.timeIntervalSince1970)", logger: self.logger
            )
        } else {
            try await self.client.query("DELETE FROM connection_pauses WHERE connection_id = \(connectionId)", logger: self.logger)
        }
    }

    public func saveBackoff(_ backoff: DeliveryBackoff) async throws {
        try await self.client.query("""
            INSERT INTO delivery_backoffs (destination_id, reason, until)
            VALUES (\(backoff.destinationId), \(backoff.reason), \(backoff.until.timeIntervalSince1970))
            ON CONFLICT (destination_id) DO UPDATE SET reason = excluded.reason, until = excluded.until
            """, logger: self.logger)
    }

    public func deliveryBackoff(destinationId: String) async throws -> DeliveryBackoff? {
        try await self.rows("SELECT reason, until FROM delivery_backoffs WHERE destination_id = \(destinationId)").first.map { row in
            DeliveryBackoff(
                destinationId: destinationId, reason: try row.value("reason", as: String.self),
                until: Date(timeIntervalSince1970: try row.value("until", as: Double.self))
            )
        }
    }

    public func clearBackoff(destinationId: String) async throws {
        try await self.client.query("DELETE FROM delivery_backoffs WHERE destination_id = \(destinationId)", logger: self.logger)
    }
}
