import Logging
import PostgresNIO

extension PostgresStore {
    /// The schema, as named steps applied in order, each once, in its own transaction; which
    /// steps ran is kept in `schema_migrations`. Names are never reused, as SQLite's are not.
    static let migrations: [(name: String, sql: [String])] = [
        ("pg1_configuration_access", [
            """
            CREATE TABLE connections (
                id text PRIMARY KEY, name text NOT NULL, login_kind text NOT NULL, login_value text NOT NULL,
                api_version text NOT NULL, auth_type text NOT NULL, username text, client_id text NOT NULL,
                sealed_secrets bytea NOT NULL, status text NOT NULL, status_message text, instance_url text,
                audience text, created_at double precision NOT NULL, updated_at double precision NOT NULL)
            """,
            """
            CREATE TABLE destinations (
                id text PRIMARY KEY, name text NOT NULL, description text NOT NULL, connection_id text NOT NULL,
                object_type text NOT NULL, operation text NOT NULL, converted_leads text NOT NULL, status text NOT NULL,
                mappings text NOT NULL, segments text NOT NULL, org_fields text NOT NULL, delivery_error text,
                last_delivery_at double precision, bulk_threshold bigint,
                created_at double precision NOT NULL, updated_at double precision NOT NULL)
            """,
            "CREATE INDEX destinations_connection ON destinations(connection_id)",
            """
            CREATE TABLE api_keys (
                id text PRIMARY KEY, name text NOT NULL, key_hash text NOT NULL UNIQUE, permissions text[] NOT NULL,
                created_at double precision NOT NULL, expires_at double precision, revoked_at double precision,
                last_used_at double precision, created_by text)
            """,
            """
            CREATE TABLE audit_log (
                seq bigserial PRIMARY KEY, id text NOT NULL, at double precision NOT NULL, key_id text, key_name text,
                action text NOT NULL, target_id text, before text NOT NULL, after text NOT NULL)
            """,
            "CREATE INDEX audit_log_at ON audit_log(at)",
        ]),
    ]

    /// The names of every migration, in order.
    public static var migrationNames: [String] { Self.migrations.map(\.name) }

    /// The advisory lock every starting process takes around the migrations: one applies them,
    /// the others wait, then find nothing left to do.
    static let migrationLock: Int64 = 0x5F64_6573_745F_6D67  // "_dest_mg"

    func migrate() async throws {
        try await self.client.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(\(Self.migrationLock))", logger: self.logger)
            do {
                try await self.applyMigrations(connection)
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.migrationLock))", logger: self.logger)
                throw error
            }
            try await connection.query("SELECT pg_advisory_unlock(\(Self.migrationLock))", logger: self.logger)
        }
    }

    private func applyMigrations(_ connection: PostgresConnection) async throws {
        try await connection.query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
            logger: self.logger
        )
        var applied: Set<String> = []
        for try await name in try await connection.query("SELECT name FROM schema_migrations", logger: self.logger).decode(String.self) {
            applied.insert(name)
        }
        for migration in Self.migrations where !applied.contains(migration.name) {
            try await connection.withTransaction(logger: self.logger) { connection in
                for statement in migration.sql {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
                }
                try await connection.query("INSERT INTO schema_migrations (name) VALUES (\(migration.name))", logger: self.logger)
            }
            self.logger.notice("PostgreSQL schema migrated", metadata: ["migration": "\(migration.name)"])
        }
    }

    /// The migrations applied to the database, in order.
    public func appliedMigrations() async throws -> [String] {
        var names: [String] = []
        for try await name in try await self.client.query("SELECT name FROM schema_migrations ORDER BY applied_at, name", logger: self.logger).decode(String.self) {
            names.append(name)
        }
        return names
    }
}
