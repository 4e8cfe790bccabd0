import Activation
import Foundation
import PostgresNIO
import Store

extension PostgresStore: ConfigurationStore {
    public func saveConnection(_ connection: Connection) async throws {
        let sealed = try self.secrets.seal(JSONEncoder().encode(connection.secrets), boundTo: SealContext.connection(connection))
        try await self.client.query(
            """
            INSERT INTO connections (id, name, login_kind, login_value, api_version, auth_type, username, client_id,
                sealed_secrets, status, status_message, instance_url, audience, created_at, updated_at)
            VALUES (\(connection.id), \(connection.name), \(connection.loginKind.rawValue), \(connection.loginValue),
                \(connection.apiVersion), \(connection.authType.rawValue), \(connection.username), \(connection.clientId),
                \(sealed), \(connection.status.rawValue), \(connection.statusMessage), \(connection.instanceUrl),
                \(connection.audience), \(connection.createdAt.timeIntervalSince1970), \(connection.updatedAt.timeIntervalSince1970))
            ON CONFLICT (id) DO UPDATE SET name = excluded.name, login_kind = excluded.login_kind,
                login_value = excluded.login_value, api_version = excluded.api_version, auth_type = excluded.auth_type,
                username = excluded.username, client_id = excluded.client_id, sealed_secrets = excluded.sealed_secrets,
                status = excluded.status, status_message = excluded.status_message, instance_url = excluded.instance_url,
                audience = excluded.audience, updated_at = excluded.updated_at
            """,
            logger: self.logger
        )
    }

    public func connection(id: String) async throws -> Connection? {
        try await self.rows("SELECT * FROM connections WHERE id = \(id)").first.map(self.connection(from:))
    }

    public func connections() async throws -> [Connection] {
        try await self.rows("SELECT * FROM connections ORDER BY created_at, id").map(self.connection(from:))
    }

    /// Deletes the connection (PostgreSQL's `VACUUM` reclaims the row's space; the sealed bytes
    /// open with the master key only).
    public func deleteConnection(id: String) async throws -> Bool {
        try await self.transaction { connection in
            // The destinations that use it, locked: none can be created on it meanwhile.
            let users = try await self.rows("SELECT id FROM destinations WHERE connection_id = \(id) ORDER BY id FOR UPDATE", on: connection)
                .map { try $0.value("id", as: String.self) }
            guard users.isEmpty else {
                throw StoreConflict("the connection is used by destination(s) \(users.joined(separator: ", ")): delete or move them first")
            }
            try await connection.query("DELETE FROM salesforce_sessions WHERE connection_id = \(id)", logger: self.logger)
            try await connection.query("DELETE FROM connection_pauses WHERE connection_id = \(id)", logger: self.logger)
            return try await !self.rows("DELETE FROM connections WHERE id = \(id) RETURNING id", on: connection).isEmpty
        }
    }

    /// Deletes a destination that is not enabled (and, as the queue tables arrive, everything kept
    /// for it). Throws `StoreConflict` while it is enabled.
    public func deleteDestination(id: String) async throws -> Bool {
        try await self.transaction { connection in
            guard let row = try await self.rows("SELECT status FROM destinations WHERE id = \(id) FOR UPDATE", on: connection).first else {
                return false
            }
            let status = try row.value("status", as: String.self)
            guard DestinationStatus(rawValue: status)?.isActivated != true else {
                throw StoreConflict("the destination is \(status): disable it first (POST /v1/destinations/\(id)/disable)")
            }
            // Everything kept for it, as on SQLite.
            for table in ["records", "record_history", "failures", "runs", "queue_counts", "alert_settings", "alerts", "bulk_jobs", "delivery_backoffs"] {
                try await connection.query("DELETE FROM \(unescaped: table) WHERE destination_id = \(id)", logger: self.logger)
            }
            try await connection.query("""
                DELETE FROM webhook_deliveries WHERE subscription_id IN (SELECT id FROM alert_subscriptions WHERE destination_id = \(id))
                """, logger: self.logger)
            try await connection.query("DELETE FROM alert_subscriptions WHERE destination_id = \(id)", logger: self.logger)
            try await connection.query("DELETE FROM destinations WHERE id = \(id)", logger: self.logger)
            return true
        }
    }

    public func saveDestination(_ destination: Destination) async throws {
        try await self.transaction { connection in try await self.save(destination, on: connection) }
    }

    /// Saves a destination on a connection (inside the caller's transaction).
    func save(_ destination: Destination, on connection: PostgresConnection) async throws {
        let mappings = String(decoding: try JSONEncoder().encode(destination.mappings), as: UTF8.self)
        let segments = String(decoding: try JSONEncoder().encode(destination.segments), as: UTF8.self)
        let orgFields = String(decoding: try JSONEncoder().encode(destination.orgFields), as: UTF8.self)
        try await connection.query(
            """
            INSERT INTO destinations (id, name, description, connection_id, object_type, operation, converted_leads, status,
                mappings, segments, org_fields, delivery_error, last_delivery_at, bulk_threshold, created_at, updated_at,
                marketing_actions, consent_path)
            VALUES (\(destination.id), \(destination.name), \(destination.description), \(destination.connectionId),
                \(destination.objectType.rawValue), \(destination.operation.rawValue), \(destination.convertedLeads.rawValue),
                \(destination.status.rawValue), \(mappings), \(segments), \(orgFields), \(destination.deliveryError),
                \(destination.lastDeliveryAt?.timeIntervalSince1970), \(destination.bulkThreshold.map(Int64.init)),
                \(destination.createdAt.timeIntervalSince1970), \(destination.updatedAt.timeIntervalSince1970),
                \(MarketingAction.stored(destination.marketingActions)), \(destination.consentPath))
            ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description,
                connection_id = excluded.connection_id, object_type = excluded.object_type, operation = excluded.operation,
                converted_leads = excluded.converted_leads, status = excluded.status, mappings = excluded.mappings,
                segments = excluded.segments, org_fields = excluded.org_fields, delivery_error = excluded.delivery_error,
                bulk_threshold = excluded.bulk_threshold, marketing_actions = excluded.marketing_actions,
                consent_path = excluded.consent_path, updated_at = excluded.updated_at
            """,
            logger: self.logger
        )
    }

    public func destination(id: String) async throws -> Destination? {
        try await self.rows("SELECT * FROM destinations WHERE id = \(id)").first.map(Self.destination(from:))
    }

    public func destinations() async throws -> [Destination] {
        try await self.rows("SELECT * FROM destinations ORDER BY created_at, id").map(Self.destination(from:))
    }

    private func connection(from row: PostgresRandomAccessRow) throws -> Connection {
        // The stored words first: a word this version does not know is reported as such, not as
        // secrets that do not open (their context includes the word).
        let loginKind: Connection.LoginKind = try row.word("login_kind")
        let authType: Connection.AuthType = try row.word("auth_type")
        let status: Connection.Status = try row.word("status")
        let id = try row.value("id", as: String.self)
        let loginValue = try row.value("login_value", as: String.self)
        let username = try row.value("username", as: String?.self)
        let clientId = try row.value("client_id", as: String.self)
        let context = SealContext.connection(
            id: id, loginKind: loginKind.rawValue, loginValue: loginValue, authType: authType.rawValue, username: username, clientId: clientId
        )
        let sealed = try row.value("sealed_secrets", as: Data.self)
        let secrets = try JSONDecoder().decode(ConnectionSecrets.self, from: self.secrets.open(sealed, boundTo: context))
        return Connection(
            id: id, name: try row.value("name"), loginKind: loginKind, loginValue: loginValue,
            apiVersion: try row.value("api_version"), authType: authType, username: username, clientId: clientId,
            secrets: secrets, status: status, statusMessage: try row.value("status_message"), instanceUrl: try row.value("instance_url"),
            audience: try row.value("audience"), createdAt: try row.date("created_at"), updatedAt: try row.date("updated_at")
        )
    }

    private static func destination(from row: PostgresRandomAccessRow) throws -> Destination {
        let mappings = try row.value("mappings", as: String.self)
        let segments = try row.value("segments", as: String.self)
        let orgFields = try row.value("org_fields", as: String.self)
        return Destination(
            id: try row.value("id"), name: try row.value("name"), description: try row.value("description"),
            connectionId: try row.value("connection_id"),
            objectType: SalesforceObjectType(rawValue: try row.value("object_type", as: String.self)) ?? .contact,
            operation: DestinationOperation(rawValue: try row.value("operation", as: String.self)) ?? .update,
            convertedLeads: ConvertedLeadHandling(rawValue: try row.value("converted_leads", as: String.self)) ?? .report,
            status: DestinationStatus(rawValue: try row.value("status", as: String.self)) ?? .draft,
            mappings: try JSONDecoder().decode([MappingSetting].self, from: Data(mappings.utf8)),
            segments: try JSONDecoder().decode([SegmentSetting].self, from: Data(segments.utf8)),
            orgFields: try JSONDecoder().decode([SalesforceField].self, from: Data(orgFields.utf8)),
            deliveryError: try row.value("delivery_error"), lastDeliveryAt: try row.optionalDate("last_delivery_at"),
            createdAt: try row.date("created_at"), updatedAt: try row.date("updated_at"),
            bulkThreshold: try row.value("bulk_threshold", as: Int64?.self).map(Int.init),
            marketingActions: MarketingAction.read(stored: try row.value("marketing_actions", as: String.self)),
            consentPath: try row.value("consent_path")
        )
    }
}
