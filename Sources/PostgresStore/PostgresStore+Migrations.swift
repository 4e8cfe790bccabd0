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
        ("pg2_queues", [
            // Stored profiles and the identities that find them. Bodies, pending entries and
            // acknowledged values are `StoredBinary`, as in SQLite.
            "CREATE TABLE profiles (id bigserial PRIMARY KEY, body bytea NOT NULL, updated_at double precision NOT NULL)",
            "CREATE TABLE identities (namespace text NOT NULL, value text NOT NULL, profile_id bigint NOT NULL, PRIMARY KEY (namespace, value))",
            // One row per destination and record: what Salesforce holds, what is queued, and the
            // claim (token and lease) of the sender that has it in flight.
            """
            CREATE TABLE records (
                destination_id text NOT NULL, record_id text NOT NULL, acknowledged bytea, acknowledged_at double precision,
                pending bytea, in_flight smallint NOT NULL DEFAULT 0, due_at double precision, claimed_until double precision,
                claim_token bigint, queued_at double precision, attempts integer NOT NULL DEFAULT 0, last_error_code text,
                last_error_message text, history_entries integer NOT NULL DEFAULT 0, retention_used double precision NOT NULL DEFAULT 0,
                salesforce_id text, target_object text, bulk_job text,
                PRIMARY KEY (destination_id, record_id))
            """,
            "CREATE INDEX records_due ON records(destination_id, in_flight, due_at) WHERE pending IS NOT NULL",
            "CREATE INDEX records_claim ON records(destination_id, claim_token) WHERE claim_token IS NOT NULL",
            "CREATE INDEX records_salesforce_id ON records(destination_id, salesforce_id) WHERE salesforce_id IS NOT NULL",
            """
            CREATE TABLE failures (
                destination_id text NOT NULL, record_key text NOT NULL, kind text NOT NULL, code text NOT NULL,
                message text NOT NULL, fields text NOT NULL, sent text, at double precision NOT NULL,
                PRIMARY KEY (destination_id, record_key))
            """,
            "CREATE INDEX failures_code ON failures(destination_id, kind, code)",
            """
            CREATE TABLE runs (
                destination_id text NOT NULL, hour_start bigint NOT NULL, received bigint NOT NULL DEFAULT 0,
                activated bigint NOT NULL DEFAULT 0, unchanged bigint NOT NULL DEFAULT 0, excluded bigint NOT NULL DEFAULT 0,
                failed bigint NOT NULL DEFAULT 0, first_received_at double precision, last_resolved_at double precision,
                PRIMARY KEY (destination_id, hour_start))
            """,
            "CREATE TABLE audience_counts (segment_id text NOT NULL, status text NOT NULL, count bigint NOT NULL, PRIMARY KEY (segment_id, status))",
            """
            CREATE TABLE queue_counts (
                destination_id text PRIMARY KEY, pending bigint NOT NULL DEFAULT 0, in_flight bigint NOT NULL DEFAULT 0,
                retrying bigint NOT NULL DEFAULT 0)
            """,
            "CREATE TABLE store_counts (name text PRIMARY KEY, value bigint NOT NULL)",
            "INSERT INTO store_counts (name, value) VALUES ('profiles', 0)",
            """
            CREATE TABLE record_history (
                id bigserial PRIMARY KEY, destination_id text NOT NULL, record_id text NOT NULL, at double precision NOT NULL,
                event text NOT NULL, attempt integer NOT NULL, code text, message text, fields text, error_fields text)
            """,
            "CREATE INDEX record_history_record ON record_history(destination_id, record_id, id)",
            // Where each destination's backfill got to (NULL: none running).
            "ALTER TABLE destinations ADD COLUMN backfill_after bigint",
        ]),
        ("pg3_alerts", [
            "CREATE TABLE alert_settings (destination_id text PRIMARY KEY, settings text NOT NULL)",
            // At most one open alert per rule and destination, whatever the number of processes
            // evaluating the rules: the second to open one is refused by the index.
            """
            CREATE TABLE alerts (
                seq bigserial, id text PRIMARY KEY, rule text NOT NULL, destination_id text NOT NULL, state text NOT NULL,
                message text NOT NULL, details text NOT NULL, opened_at double precision NOT NULL, resolved_at double precision)
            """,
            "CREATE UNIQUE INDEX alerts_one_open ON alerts(destination_id, rule) WHERE state = 'open'",
            "CREATE INDEX alerts_newest ON alerts(opened_at)",
            """
            CREATE TABLE alert_subscriptions (
                id text PRIMARY KEY, url text NOT NULL, sealed_url bytea NOT NULL, sealed_secret bytea NOT NULL, destination_id text,
                created_at double precision NOT NULL)
            """,
            // A delivery taken by a process is due again a lease later: another process sends it
            // then if the first died before recording the outcome.
            """
            CREATE TABLE webhook_deliveries (
                id bigserial PRIMARY KEY, event_id text NOT NULL, subscription_id text NOT NULL, body bytea NOT NULL,
                state text NOT NULL DEFAULT 'pending', attempts integer NOT NULL DEFAULT 0, due_at double precision NOT NULL,
                created_at double precision NOT NULL, last_error text)
            """,
            "CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, due_at)",
        ]),
        ("pg4_bulk", [
            """
            CREATE TABLE bulk_jobs (
                id text PRIMARY KEY, destination_id text NOT NULL, object text NOT NULL, state text NOT NULL,
                columns text NOT NULL DEFAULT '', records integer NOT NULL DEFAULT 0, processed integer NOT NULL DEFAULT 0,
                failed integer NOT NULL DEFAULT 0, uploaded boolean NOT NULL DEFAULT false,
                created_at double precision NOT NULL, finished_at double precision)
            """,
            "CREATE INDEX bulk_jobs_recent ON bulk_jobs(destination_id, created_at)",
            "CREATE INDEX bulk_jobs_unfinished ON bulk_jobs(destination_id, created_at) WHERE finished_at IS NULL",
            "CREATE INDEX records_bulk_job ON records(destination_id, bulk_job) WHERE bulk_job IS NOT NULL",
        ]),
        // A value sealed with the deployment's master key: a process started with another key
        // cannot open it and stops at start (`checkMasterKey`).
        ("pg5_key_check", ["CREATE TABLE store_keys (name text PRIMARY KEY, sealed bytea NOT NULL)"]),
        // Who runs a destination's backfill and until when: any process may, one at a time, and
        // another takes it over once the hold has run out. Named turns (the alert evaluation) the same way.
        ("pg6_backfill_holds", [
            "ALTER TABLE destinations ADD COLUMN backfill_holder bigint",
            "ALTER TABLE destinations ADD COLUMN backfill_held_until double precision",
            "CREATE TABLE turns (name text PRIMARY KEY, holder bigint NOT NULL, until double precision NOT NULL)",
        ]),
        // A connection's current Salesforce session, sealed, shared by every process: one token
        // request (under the turn `token:<connection>`) serves them all.
        ("pg7_salesforce_sessions", [
            """
            CREATE TABLE salesforce_sessions (
                connection_id text PRIMARY KEY, credentials_at double precision NOT NULL, sealed bytea NOT NULL,
                stored_at double precision NOT NULL)
            """,
        ]),
        // A connection's pause (API allowance, API budget, refused credentials): one process meets
        // the trouble, every process waits.
        ("pg8_connection_pauses", [
            """
            CREATE TABLE connection_pauses (
                connection_id text PRIMARY KEY, kind text NOT NULL, reason text NOT NULL, until double precision NOT NULL,
                refusals integer NOT NULL DEFAULT 0)
            """,
        ]),
        // The web UI's sessions (by the hash of their id) and their sealed next-page messages:
        // every `api` process knows every signed-in browser.
        ("pg9_web_sessions", [
            """
            CREATE TABLE web_sessions (
                id_hash text PRIMARY KEY, key_hash text NOT NULL, key_name text NOT NULL, created_at double precision NOT NULL,
                last_seen_at double precision NOT NULL)
            """,
            "CREATE INDEX web_sessions_key ON web_sessions(key_hash, last_seen_at)",
            "CREATE INDEX web_sessions_seen ON web_sessions(last_seen_at)",
            "CREATE TABLE web_flashes (id bigserial PRIMARY KEY, session_hash text NOT NULL, sealed bytea NOT NULL)",
            "CREATE INDEX web_flashes_session ON web_flashes(session_hash, id)",
        ]),
        // Data usage labels on sources; each destination's marketing actions and consent attribute.
        ("pg10_governance", [
            "CREATE TABLE data_labels (source text PRIMARY KEY, labels text NOT NULL)",
            "ALTER TABLE destinations ADD COLUMN marketing_actions text NOT NULL DEFAULT 'exportToThirdParty'",
            "ALTER TABLE destinations ADD COLUMN consent_path text NOT NULL DEFAULT 'consents.share.val'",
        ]),
        // When the newest queued change of a record was accepted (delivery's latency is timed from it).
        ("pg11_changed_at", ["ALTER TABLE records ADD COLUMN changed_at double precision"]),
        // A destination's backoff after transient trouble, shown by every process.
        ("pg12_delivery_backoffs", [
            "CREATE TABLE delivery_backoffs (destination_id text PRIMARY KEY, reason text NOT NULL, until double precision NOT NULL)",
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
