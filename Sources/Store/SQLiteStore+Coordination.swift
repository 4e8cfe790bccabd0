import Foundation
import GRDB

/// Turns, shared Salesforce sessions and connection pauses: one process here, the same rules as several on PostgreSQL.
extension SQLiteStore {
    public func takeTurn(_ name: String, holder: Int64, lease: TimeInterval, now: Date) async throws -> Bool {
        try await self.write { db in
            let at = now.timeIntervalSince1970
            try db.execute(sql: """
                INSERT INTO turns (name, holder, until) VALUES (?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
                WHERE turns.holder = excluded.holder OR turns.until < ?
                """, arguments: [name, holder, at + lease, at])
            return try Int64.fetchOne(db, sql: "SELECT holder FROM turns WHERE name = ?", arguments: [name]) == holder
        }
    }

    public func releaseTurn(_ name: String, holder: Int64) async throws {
        try await self.write { db in
            try db.execute(sql: "DELETE FROM turns WHERE name = ? AND holder = ?", arguments: [name, holder])
        }
    }

    public func storedSession(connectionId: String, credentialsAt: Date) async throws -> Data? {
        let sealed = try await self.pool.read { db in
            try Data.fetchOne(
                db, sql: "SELECT sealed FROM salesforce_sessions WHERE connection_id = ? AND credentials_at = ?",
                arguments: [connectionId, credentialsAt.timeIntervalSince1970]
            )
        }
        return try sealed.map { try self.secrets.open($0, boundTo: SealContext.session(connectionId, credentialsAt: credentialsAt)) }
    }

    public func saveSession(_ session: Data, connectionId: String, credentialsAt: Date, at now: Date) async throws {
        let sealed = try self.secrets.seal(session, boundTo: SealContext.session(connectionId, credentialsAt: credentialsAt))
        try await self.write { db in
            try db.execute(sql: """
                INSERT INTO salesforce_sessions (connection_id, credentials_at, sealed, stored_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (connection_id) DO UPDATE SET credentials_at = excluded.credentials_at, sealed = excluded.sealed, stored_at = excluded.stored_at
                """, arguments: [connectionId, credentialsAt.timeIntervalSince1970, sealed, now.timeIntervalSince1970])
        }
    }

    public func savePause(_ pause: ConnectionPause) async throws {
        try await self.write { db in
            try db.execute(sql: """
                INSERT INTO connection_pauses (connection_id, kind, reason, until, refusals) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (connection_id) DO UPDATE SET kind = excluded.kind, reason = excluded.reason, until = excluded.until,
                    refusals = excluded.refusals
                """, arguments: [pause.connectionId, pause.kind.rawValue, pause.reason, pause.until.timeIntervalSince1970, pause.refusals])
        }
    }

    public func connectionPauses() async throws -> [ConnectionPause] {
        try await self.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM connection_pauses ORDER BY connection_id").compactMap { row in
                guard let kind = ConnectionPause.Kind(rawValue: row["kind"]) else { return nil }
                return ConnectionPause(
                    connectionId: row["connection_id"], kind: kind, reason: row["reason"], until: Date(timeIntervalSince1970: row["until"]),
                    refusals: row["refusals"]
                )
            }
        }
    }

    public func clearPause(connectionId: String, ranOutBy: Date?) async throws {
        try await self.write { db in
            if let ranOutBy {
                try db.execute(
                    sql: "DELETE FROM connection_pauses WHERE connection_id = ? AND until <= ?", arguments: [connectionId, ranOutBy.timeIntervalSince1970]
                )
            } else {
                try db.execute(sql: "DELETE FROM connection_pauses WHERE connection_id = ?", arguments: [connectionId])
            }
        }
    }

    public func saveBackoff(_ backoff: DeliveryBackoff) async throws {
        try await self.write { db in
            try db.execute(sql: """
                INSERT INTO delivery_backoffs (destination_id, reason, until) VALUES (?, ?, ?)
                ON CONFLICT (destination_id) DO UPDATE SET reason = excluded.reason, until = excluded.until
                """, arguments: [backoff.destinationId, backoff.reason, backoff.until.timeIntervalSince1970])
        }
    }

    public func deliveryBackoff(destinationId: String) async throws -> DeliveryBackoff? {
        try await self.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT reason, until FROM delivery_backoffs WHERE destination_id = ?", arguments: [destinationId]).map { row in
                DeliveryBackoff(destinationId: destinationId, reason: row["reason"], until: Date(timeIntervalSince1970: row["until"]))
            }
        }
    }

    public func clearBackoff(destinationId: String) async throws {
        try await self.write { db in
            try db.execute(sql: "DELETE FROM delivery_backoffs WHERE destination_id = ?", arguments: [destinationId])
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
