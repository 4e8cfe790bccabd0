import Activation
import Foundation
import GRDB

/// The embedded store: one SQLite file in WAL mode. Writes are serialized by SQLite's single
/// writer; each commit is fsynced (`synchronous=FULL`), so what a transaction wrote survives a
/// crash the moment it returns. Callers batch their writes (group commit) to share that cost.
public final class SQLiteStore: SfdestStore {
    let pool: DatabasePool
    let secrets: SecretBox
    let limits: Limits

    /// Limits that make storage trouble reproducible (tests) or bounded (operations).
    public struct Limits: Sendable {
        /// How long a write waits for another writer before it fails as busy.
        public var busyTimeout: TimeInterval = 10
        /// The database may grow to at most this many pages (4 KiB each); nil for no limit. Past it,
        /// writes fail as a full disk would.
        public var maxPageCount: Int?
        /// The audit log keeps at most this many entries (the newest) ...
        public var auditEntries = 10_000
        /// ... none older than this many days; older ones are pruned as entries are added.
        public var auditDays = 365
        public init() {}
    }

    /// Opens (creating if needed) the database at `path` and migrates it.
    public init(path: String, secrets: SecretBox, limits: Limits = Limits()) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(limits.busyTimeout)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Content freed inside a page (an old ciphertext when a connection's secrets are
            // replaced) is zeroed, at no extra I/O; deletions of secrets go further (`erase`).
            try db.execute(sql: "PRAGMA secure_delete = FAST")
            if let pages = limits.maxPageCount {
                try db.execute(sql: "PRAGMA max_page_count = \(pages)")
            }
        }
        self.pool = try DatabasePool(path: path, configuration: configuration)
        // GRDB turns WAL on after `prepareDatabase` ran, and sets the writer to synchronous=NORMAL
        // (commits not fsynced) as it does: set FULL again on the one connection that commits.
        try self.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        self.secrets = secrets
        self.limits = limits
        let migrator = Self.migrator(secrets: secrets)
        let applied = try self.pool.read { db in try migrator.appliedIdentifiers(db) }
        try migrator.migrate(self.pool)
        if !applied.isEmpty, !applied.contains("v11_bound_secrets") {
            // An earlier version's database: webhook URLs were stored in the clear, and freed
            // space was not zeroed. Rewrite the file once so no old bytes survive the upgrade.
            try self.pool.writeWithoutTransaction { db in
                try db.execute(sql: "VACUUM")
                _ = try db.checkpoint(.truncate)
            }
        }
    }

    /// Rewrites the database file without its free space and truncates the write-ahead log: no
    /// bytes of deleted or replaced values stay on disk (after a master key rotation).
    func compact() async throws {
        try await self.pool.writeWithoutTransaction { db in
            try db.execute(sql: "VACUUM")
            _ = try db.checkpoint(.truncate)
        }
    }

    /// The schema's migrations. `secrets` re-seals values whose format changed (v11).
    static func migrator(secrets: SecretBox) -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE connections (
                    id TEXT PRIMARY KEY, name TEXT NOT NULL, login_kind TEXT NOT NULL, login_value TEXT NOT NULL,
                    api_version TEXT NOT NULL, auth_type TEXT NOT NULL, username TEXT, client_id TEXT NOT NULL,
                    sealed_secrets BLOB NOT NULL, status TEXT NOT NULL, status_message TEXT, instance_url TEXT,
                    created_at REAL NOT NULL, updated_at REAL NOT NULL);
                CREATE TABLE destinations (
                    id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT NOT NULL,
                    connection_id TEXT NOT NULL REFERENCES connections(id), object_type TEXT NOT NULL,
                    status TEXT NOT NULL, mappings TEXT NOT NULL, segments TEXT NOT NULL, org_fields TEXT NOT NULL, delivery_error TEXT,
                    last_delivery_at REAL, created_at REAL NOT NULL, updated_at REAL NOT NULL);
                CREATE TABLE profiles (id INTEGER PRIMARY KEY, body TEXT NOT NULL, updated_at REAL NOT NULL);
                CREATE TABLE identities (
                    namespace TEXT NOT NULL, value TEXT NOT NULL, profile_id INTEGER NOT NULL,
                    PRIMARY KEY (namespace, value)) WITHOUT ROWID;
                CREATE TABLE records (
                    destination_id TEXT NOT NULL, record_id TEXT NOT NULL,
                    acknowledged TEXT, acknowledged_at REAL,
                    pending TEXT, in_flight INTEGER NOT NULL DEFAULT 0, due_at REAL, claimed_until REAL,
                    queued_at REAL, attempts INTEGER NOT NULL DEFAULT 0, last_error_code TEXT, last_error_message TEXT,
                    PRIMARY KEY (destination_id, record_id)) WITHOUT ROWID;
                CREATE INDEX records_due ON records(destination_id, in_flight, due_at) WHERE pending IS NOT NULL;
                CREATE TABLE failures (
                    destination_id TEXT NOT NULL, record_key TEXT NOT NULL, kind TEXT NOT NULL, code TEXT NOT NULL,
                    message TEXT NOT NULL, fields TEXT NOT NULL, sent TEXT, at REAL NOT NULL,
                    PRIMARY KEY (destination_id, record_key)) WITHOUT ROWID;
                CREATE INDEX failures_code ON failures(destination_id, kind, code);
                CREATE TABLE runs (
                    destination_id TEXT NOT NULL, hour_start INTEGER NOT NULL,
                    received INTEGER NOT NULL DEFAULT 0, activated INTEGER NOT NULL DEFAULT 0,
                    unchanged INTEGER NOT NULL DEFAULT 0, excluded INTEGER NOT NULL DEFAULT 0,
                    failed INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY (destination_id, hour_start)) WITHOUT ROWID;
                CREATE TABLE audience_counts (
                    segment_id TEXT NOT NULL, status TEXT NOT NULL, count INTEGER NOT NULL,
                    PRIMARY KEY (segment_id, status)) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v2_alerts", migrate: Self.migrateAlerts)
        migrator.registerMigration("v3_history", migrate: Self.migrateHistory)
        migrator.registerMigration("v4_backfill") { db in
            // Where each destination's backfill got to: a restart resumes it (NULL: none running).
            try db.execute(sql: "ALTER TABLE destinations ADD COLUMN backfill_after INTEGER")
        }
        migrator.registerMigration("v5_history_count", migrate: Self.migrateHistoryCount)
        migrator.registerMigration("v6_backlog_index") { db in
            // The backlog (pending, in flight, retrying) is counted from the index alone.
            try db.execute(sql: """
                DROP INDEX records_due;
                CREATE INDEX records_due ON records(destination_id, in_flight, due_at, attempts) WHERE pending IS NOT NULL;
                """)
        }
        migrator.registerMigration("v7_queue_counts") { db in
            // The backlog per destination, kept as each record row changes category (reading it
            // scanned every queued row: with 100,000 queued, a status poll cost milliseconds).
            try db.execute(sql: """
                CREATE TABLE queue_counts (
                    destination_id TEXT PRIMARY KEY, pending INTEGER NOT NULL DEFAULT 0,
                    in_flight INTEGER NOT NULL DEFAULT 0, retrying INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
                INSERT INTO queue_counts (destination_id, pending, in_flight, retrying)
                    SELECT destination_id, SUM(in_flight = 0 AND attempts = 0), SUM(in_flight = 1), SUM(in_flight = 0 AND attempts > 0)
                    FROM records WHERE pending IS NOT NULL GROUP BY destination_id;
                """)
        }
        migrator.registerMigration("v8_store_counts") { db in
            // Profiles stored, kept as they are created: the `/metrics` gauge read a COUNT(*) over
            // every stored profile on each scrape.
            try db.execute(sql: """
                CREATE TABLE store_counts (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
                INSERT INTO store_counts (name, value) SELECT 'profiles', COUNT(*) FROM profiles;
                """)
        }
        migrator.registerMigration("v9_keys_audit", migrate: Self.migrateKeysAndAudit)
        migrator.registerMigration("v10_retention_used") { db in
            // The retention window counts the waits between a change's transient failures, not
            // wall-clock time since it was queued: a pause (credentials refused, API budget, a
            // disabled destination) must not fail a backlog on its first error afterwards.
            try db.execute(sql: "ALTER TABLE records ADD COLUMN retention_used REAL NOT NULL DEFAULT 0")
        }
        migrator.registerMigration("v11_bound_secrets") { db in
            try Self.bindSealedValues(db, secrets: secrets)
        }
        migrator.registerMigration("v12_connection_audience") { db in
            // The JWT bearer flow's audience when the user gave one (NULL: the login host's default).
            try db.execute(sql: "ALTER TABLE connections ADD COLUMN audience TEXT")
        }
        migrator.registerMigration("v13_record_targets") { db in
            // Upsert destinations key their records by the external Id value and remember the Id
            // Salesforce answered; a Lead destination that follows converted leads writes to the
            // lead's Contact from then on (`target_object` 'Contact', `salesforce_id` its Id).
            try db.execute(sql: """
                ALTER TABLE destinations ADD COLUMN operation TEXT NOT NULL DEFAULT 'update';
                ALTER TABLE destinations ADD COLUMN converted_leads TEXT NOT NULL DEFAULT 'report';
                ALTER TABLE records ADD COLUMN salesforce_id TEXT;
                ALTER TABLE records ADD COLUMN target_object TEXT;
                CREATE INDEX records_salesforce_id ON records(destination_id, salesforce_id) WHERE salesforce_id IS NOT NULL;
                """)
        }
        migrator.registerMigration("v14_bulk", migrate: Self.migrateBulk)
        migrator.registerMigration("v15_claim_tokens") { db in
            // Each claim carries a token, kept on the records it took: a completion applies only
            // to records still held by its claim (a sender whose lease was taken over is fenced).
            try db.execute(sql: "ALTER TABLE records ADD COLUMN claim_token INTEGER")
        }
        migrator.registerMigration("v16_backfill_holds") { db in
            // Who runs a destination's backfill and until when (a lease, as claims have); named
            // turns (alert evaluation) held the same way. One process here, the rules of many.
            try db.execute(sql: """
                ALTER TABLE destinations ADD COLUMN backfill_holder INTEGER;
                ALTER TABLE destinations ADD COLUMN backfill_held_until REAL;
                CREATE TABLE turns (name TEXT PRIMARY KEY, holder INTEGER NOT NULL, until REAL NOT NULL);
                """)
        }
        migrator.registerMigration("v17_salesforce_sessions") { db in
            // A connection's current Salesforce session, sealed (bound to the connection), for the
            // credentials of `credentials_at`.
            try db.execute(sql: """
                CREATE TABLE salesforce_sessions (
                    connection_id TEXT PRIMARY KEY, credentials_at REAL NOT NULL, sealed BLOB NOT NULL, stored_at REAL NOT NULL)
                """)
        }
        migrator.registerMigration("v18_connection_pauses") { db in
            // A connection's pause (API allowance, API budget, refused credentials), shared by the
            // processes of a deployment.
            try db.execute(sql: """
                CREATE TABLE connection_pauses (
                    connection_id TEXT PRIMARY KEY, kind TEXT NOT NULL, reason TEXT NOT NULL, until REAL NOT NULL,
                    refusals INTEGER NOT NULL DEFAULT 0)
                """)
        }
        migrator.registerMigration("v19_web_sessions") { db in
            // The web UI's sessions (by the hash of their id) and their sealed next-page messages,
            // so a restart does not sign everyone out and every process serving the UI knows them.
            try db.execute(sql: """
                CREATE TABLE web_sessions (
                    id_hash TEXT PRIMARY KEY, key_hash TEXT NOT NULL, key_name TEXT NOT NULL, created_at REAL NOT NULL,
                    last_seen_at REAL NOT NULL);
                CREATE INDEX web_sessions_key ON web_sessions(key_hash, last_seen_at);
                CREATE INDEX web_sessions_seen ON web_sessions(last_seen_at);
                CREATE TABLE web_flashes (id INTEGER PRIMARY KEY AUTOINCREMENT, session_hash TEXT NOT NULL, sealed BLOB NOT NULL);
                CREATE INDEX web_flashes_session ON web_flashes(session_hash, id);
                """)
        }
        migrator.registerMigration("v20_governance") { db in
            // Data usage labels on sources, and what each destination does with the data (checked
            // against the policies) and where its profiles' consent is read.
            try db.execute(sql: """
                CREATE TABLE data_labels (source TEXT PRIMARY KEY, labels TEXT NOT NULL) WITHOUT ROWID;
                ALTER TABLE destinations ADD COLUMN marketing_actions TEXT NOT NULL DEFAULT 'exportToThirdParty';
                ALTER TABLE destinations ADD COLUMN consent_path TEXT NOT NULL DEFAULT 'consents.share.val';
                """)
        }
        migrator.registerMigration("v21_changed_at") { db in
            // When the newest queued change of a record was accepted: delivery's latency is timed
            // from it (a change that replaced an older one is not charged the older one's wait).
            try db.execute(sql: "ALTER TABLE records ADD COLUMN changed_at REAL")
        }
        migrator.registerMigration("v22_delivery_backoffs") { db in
            // A destination's backoff after transient trouble, shown by every process.
            try db.execute(sql: "CREATE TABLE delivery_backoffs (destination_id TEXT PRIMARY KEY, reason TEXT NOT NULL, until REAL NOT NULL)")
        }
        return migrator
    }

    /// Migration `v11_bound_secrets`: every sealed value is bound to its row (AES-GCM associated
    /// data), and webhook URLs are sealed too (Slack-style tokens live in their path): the `url`
    /// column keeps only scheme and host, for display.
    static func bindSealedValues(_ db: Database, secrets: SecretBox) throws {
        for row in try Row.fetchAll(db, sql: "SELECT * FROM connections") {
            let id: String = row["id"]
            let plain = try secrets.open(row["sealed_secrets"])
            try db.execute(
                sql: "UPDATE connections SET sealed_secrets = ? WHERE id = ?",
                arguments: [try secrets.seal(plain, boundTo: SealContext.connection(row: row)), id]
            )
        }
        try db.execute(sql: "ALTER TABLE alert_subscriptions ADD COLUMN sealed_url BLOB")
        for row in try Row.fetchAll(db, sql: "SELECT id, url, sealed_secret FROM alert_subscriptions") {
            let id: String = row["id"]
            let url: String = row["url"]
            let secret = try secrets.open(row["sealed_secret"])
            try db.execute(
                sql: "UPDATE alert_subscriptions SET url = ?, sealed_url = ?, sealed_secret = ? WHERE id = ?",
                arguments: [
                    AlertSubscription.displayURL(url), try secrets.seal(Data(url.utf8), boundTo: SealContext.subscriptionURL(id)),
                    try secrets.seal(secret, boundTo: SealContext.subscriptionSecret(id)), id,
                ]
            )
        }
    }

    /// Runs `deletes` in one transaction with SQLite's secure delete on (freed content is
    /// overwritten with zeros), then checkpoints and truncates the WAL, so the deleted rows' bytes
    /// (sealed secrets) are gone from both files, not merely unlinked.
    func erase<T: Sendable>(_ deletes: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let result = try await self.write { db in
            try db.execute(sql: "PRAGMA secure_delete = ON")
            defer { try? db.execute(sql: "PRAGMA secure_delete = OFF") }
            return try deletes(db)
        }
        // The WAL still holds earlier copies of the pages: copy the zeroed pages into the main file
        // and truncate the log. Readers can hold it back for a moment: try for about a second.
        // The delete itself is committed either way (it must not fail, or go unaudited, after the
        // fact); if readers kept the log busy all that time, its old frames go at a later erase.
        for _ in 0..<20 {
            if (try? await self.pool.writeWithoutTransaction({ db in try db.checkpoint(.truncate) })) != nil { break }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return result
    }

    // MARK: configuration

    public func saveConnection(_ connection: Connection) async throws {
        let sealed = try self.secrets.seal(JSONEncoder().encode(connection.secrets), boundTo: SealContext.connection(connection))
        try await self.write { db in
            try db.execute(
                sql: """
                    INSERT INTO connections (id, name, login_kind, login_value, api_version, auth_type, username, client_id,
                        sealed_secrets, status, status_message, instance_url, audience, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET name = excluded.name, login_kind = excluded.login_kind,
                        login_value = excluded.login_value, api_version = excluded.api_version, auth_type = excluded.auth_type,
                        username = excluded.username, client_id = excluded.client_id, sealed_secrets = excluded.sealed_secrets,
                        status = excluded.status, status_message = excluded.status_message, instance_url = excluded.instance_url,
                        audience = excluded.audience, updated_at = excluded.updated_at
                    """,
                arguments: [
                    connection.id, connection.name, connection.loginKind.rawValue, connection.loginValue, connection.apiVersion,
                    connection.authType.rawValue, connection.username, connection.clientId, sealed, connection.status.rawValue,
                    connection.statusMessage, connection.instanceUrl, connection.audience, connection.createdAt.timeIntervalSince1970,
                    connection.updatedAt.timeIntervalSince1970,
                ]
            )
        }
    }

    public func connection(id: String) async throws -> Connection? {
        try await self.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM connections WHERE id = ?", arguments: [id]).map(self.connection(from:))
        }
    }

    public func connections() async throws -> [Connection] {
        try await self.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM connections ORDER BY created_at, id").map(self.connection(from:))
        }
    }

    /// Deletes the connection and erases its sealed secrets from the files (`erase`).
    public func deleteConnection(id: String) async throws -> Bool {
        try await self.erase { db in
            let users = try String.fetchAll(db, sql: "SELECT id FROM destinations WHERE connection_id = ?", arguments: [id])
            guard users.isEmpty else {
                throw StoreConflict("the connection is used by destination(s) \(users.joined(separator: ", ")): delete or move them first")
            }
            try db.execute(sql: "DELETE FROM salesforce_sessions WHERE connection_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM connection_pauses WHERE connection_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM connections WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    /// Deletes a destination that is not enabled, with its queue, history, runs, failures, alerts,
    /// alert settings and the subscriptions scoped to it. Throws `StoreConflict` while enabled.
    public func deleteDestination(id: String) async throws -> Bool {
        try await self.erase { db in
            guard let status = try String.fetchOne(db, sql: "SELECT status FROM destinations WHERE id = ?", arguments: [id]) else { return false }
            guard DestinationStatus(rawValue: status)?.isActivated != true else {
                throw StoreConflict("the destination is \(status): disable it first (POST /v1/destinations/\(id)/disable)")
            }
            for table in ["records", "record_history", "failures", "runs", "queue_counts", "alert_settings", "alerts", "bulk_jobs", "delivery_backoffs"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE destination_id = ?", arguments: [id])
            }
            let subscriptions = try String.fetchAll(db, sql: "SELECT id FROM alert_subscriptions WHERE destination_id = ?", arguments: [id])
            for subscription in subscriptions {
                try db.execute(sql: "DELETE FROM webhook_deliveries WHERE subscription_id = ?", arguments: [subscription])
            }
            try db.execute(sql: "DELETE FROM alert_subscriptions WHERE destination_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM destinations WHERE id = ?", arguments: [id])
            return true
        }
    }

    private func connection(from row: Row) throws -> Connection {
        let sealed: Data = row["sealed_secrets"]
        // The stored words first: a word this version does not know is reported as such, not as
        // secrets that do not open (their context includes the word).
        let loginKind: Connection.LoginKind = try Self.stored(row, "login_kind")
        let authType: Connection.AuthType = try Self.stored(row, "auth_type")
        let status: Connection.Status = try Self.stored(row, "status")
        let secrets = try JSONDecoder().decode(ConnectionSecrets.self, from: self.secrets.open(sealed, boundTo: SealContext.connection(row: row)))
        return Connection(
            id: row["id"], name: row["name"], loginKind: loginKind, loginValue: row["login_value"],
            apiVersion: row["api_version"], authType: authType, username: row["username"], clientId: row["client_id"],
            secrets: secrets, status: status, statusMessage: row["status_message"], instanceUrl: row["instance_url"],
            audience: row["audience"], createdAt: Date(timeIntervalSince1970: row["created_at"]), updatedAt: Date(timeIntervalSince1970: row["updated_at"])
        )
    }

    /// A stored word read back as its enum; a word this version does not know is reported, not guessed.
    static func stored<Value: RawRepresentable<String>>(_ row: Row, _ column: String) throws -> Value {
        let text: String = row[column]
        guard let value = Value(rawValue: text) else {
            throw StoreUnavailable("the stored \(column) '\(text)' is not one this version of sfdest knows (a newer version wrote it?)")
        }
        return value
    }

    public func saveDestination(_ destination: Destination) async throws {
        try await self.write { db in try Self.save(destination, in: db) }
    }

    /// Saves a destination inside a write transaction.
    static func save(_ destination: Destination, in db: Database) throws {
        let mappings = String(decoding: try JSONEncoder().encode(destination.mappings), as: UTF8.self)
        let segments = String(decoding: try JSONEncoder().encode(destination.segments), as: UTF8.self)
        let orgFields = String(decoding: try JSONEncoder().encode(destination.orgFields), as: UTF8.self)
        try db.execute(
            sql: """
                INSERT INTO destinations (id, name, description, connection_id, object_type, status, mappings, segments,
                    org_fields, delivery_error, last_delivery_at, created_at, updated_at, operation, converted_leads, bulk_threshold,
                    marketing_actions, consent_path)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET name = excluded.name, description = excluded.description,
                    connection_id = excluded.connection_id, object_type = excluded.object_type, status = excluded.status,
                    mappings = excluded.mappings, segments = excluded.segments, org_fields = excluded.org_fields,
                    delivery_error = excluded.delivery_error, operation = excluded.operation,
                    converted_leads = excluded.converted_leads, bulk_threshold = excluded.bulk_threshold,
                    marketing_actions = excluded.marketing_actions, consent_path = excluded.consent_path,
                    updated_at = excluded.updated_at
                """,
            arguments: [
                destination.id, destination.name, destination.description, destination.connectionId,
                destination.objectType.rawValue, destination.status.rawValue, mappings, segments, orgFields,
                destination.deliveryError, destination.lastDeliveryAt?.timeIntervalSince1970,
                destination.createdAt.timeIntervalSince1970, destination.updatedAt.timeIntervalSince1970,
                destination.operation.rawValue, destination.convertedLeads.rawValue,
                destination.bulkThreshold, MarketingAction.stored(destination.marketingActions), destination.consentPath,
            ]
        )
    }

    public func destination(id: String) async throws -> Destination? {
        try await self.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM destinations WHERE id = ?", arguments: [id]).map(Self.destination(from:))
        }
    }

    public func destinations() async throws -> [Destination] {
        try await self.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM destinations ORDER BY created_at, id").map(Self.destination(from:))
        }
    }

    private static func destination(from row: Row) throws -> Destination {
        let mappings: String = row["mappings"]
        let segments: String = row["segments"]
        let orgFields: String = row["org_fields"]
        let objectType: String = row["object_type"]
        let status: String = row["status"]
        let operation: String = row["operation"]
        let convertedLeads: String = row["converted_leads"]
        return Destination(
            id: row["id"], name: row["name"], description: row["description"], connectionId: row["connection_id"],
            objectType: SalesforceObjectType(rawValue: objectType) ?? .contact,
            operation: DestinationOperation(rawValue: operation) ?? .update,
            convertedLeads: ConvertedLeadHandling(rawValue: convertedLeads) ?? .report,
            status: DestinationStatus(rawValue: status) ?? .draft,
            mappings: try JSONDecoder().decode([MappingSetting].self, from: Data(mappings.utf8)),
            segments: try JSONDecoder().decode([SegmentSetting].self, from: Data(segments.utf8)),
            orgFields: try JSONDecoder().decode([SalesforceField].self, from: Data(orgFields.utf8)),
            deliveryError: row["delivery_error"],
            lastDeliveryAt: (row["last_delivery_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
            createdAt: Date(timeIntervalSince1970: row["created_at"]), updatedAt: Date(timeIntervalSince1970: row["updated_at"]),
            bulkThreshold: row["bulk_threshold"], marketingActions: MarketingAction.read(stored: row["marketing_actions"]),
            consentPath: row["consent_path"]
        )
    }

    public func profileCount() async throws -> Int {
        try await self.pool.read { db in try Int.fetchOne(db, sql: PeriodicQuery.profileCount.sql) ?? 0 }
    }
}

/// The start of the UTC hour a moment falls in, in milliseconds since 1970: the key of a run window.
package func hourStart(_ date: Date) -> Int64 {
    let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    return milliseconds - milliseconds % 3_600_000
}

extension SQLiteStore {
    /// A write transaction; storage trouble a caller can only wait out becomes `StoreUnavailable`.
    func write<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await self.pool.write(updates)
        } catch let error as DatabaseError {
            switch error.resultCode {
            case .SQLITE_FULL:
                throw StoreUnavailable("the database cannot grow (disk full or its size limit reached): free space, then retry")
            case .SQLITE_BUSY, .SQLITE_LOCKED:
                throw StoreUnavailable("the database stayed busy past its timeout: retry shortly")
            case .SQLITE_IOERR:
                throw StoreUnavailable("the database could not be written (I/O error): check the disk, then retry")
            default:
                throw error
            }
        }
    }
}
