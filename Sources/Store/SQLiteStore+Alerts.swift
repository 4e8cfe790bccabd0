import Foundation
import GRDB

extension SQLiteStore {
    /// The tables of alerts: settings per destination, alerts (at most one open per rule and
    /// destination), webhook subscriptions with sealed secrets, and the deliveries still to make.
    static func migrateAlerts(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE alert_settings (destination_id TEXT PRIMARY KEY, settings TEXT NOT NULL);
            CREATE TABLE alerts (
                id TEXT PRIMARY KEY, rule TEXT NOT NULL, destination_id TEXT NOT NULL, state TEXT NOT NULL,
                message TEXT NOT NULL, details TEXT NOT NULL, opened_at REAL NOT NULL, resolved_at REAL);
            CREATE UNIQUE INDEX alerts_one_open ON alerts(destination_id, rule) WHERE state = 'open';
            CREATE INDEX alerts_newest ON alerts(opened_at);
            CREATE TABLE alert_subscriptions (
                id TEXT PRIMARY KEY, url TEXT NOT NULL, sealed_secret BLOB NOT NULL, destination_id TEXT,
                created_at REAL NOT NULL);
            CREATE TABLE webhook_deliveries (
                id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, subscription_id TEXT NOT NULL,
                body BLOB NOT NULL, state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
                due_at REAL NOT NULL, created_at REAL NOT NULL, last_error TEXT);
            CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, due_at);
            """)
    }

    // MARK: settings

    public func alertSettings(destinationId: String) async throws -> AlertSettings {
        let stored = try await self.pool.read { db in
            try String.fetchOne(db, sql: PeriodicQuery.alertSettings.sql, arguments: [destinationId])
        }
        guard let stored else { return AlertSettings() }
        return try JSONDecoder().decode(AlertSettings.self, from: Data(stored.utf8))
    }

    public func saveAlertSettings(_ settings: AlertSettings, destinationId: String) async throws {
        let text = String(decoding: try JSONEncoder().encode(settings), as: UTF8.self)
        try await self.write { db in
            try db.execute(
                sql: "INSERT INTO alert_settings (destination_id, settings) VALUES (?, ?) ON CONFLICT(destination_id) DO UPDATE SET settings = excluded.settings",
                arguments: [destinationId, text]
            )
        }
    }

    // MARK: alerts

    public func alerts(state: AlertState?, destinationId: String?, limit: Int) async throws -> [Alert] {
        try await self.pool.read { db in
            if state == .open, let destinationId {
                // The alert check's question, every few seconds: the partial index of open alerts.
                return try Row.fetchAll(db, sql: PeriodicQuery.openAlerts.sql, arguments: [destinationId, limit]).map(Self.alert(from:))
            }
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let state {
                conditions.append("state = ?")
                arguments += [state.rawValue]
            }
            if let destinationId {
                conditions.append("destination_id = ?")
                arguments += [destinationId]
            }
            arguments += [limit]
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            return try Row.fetchAll(
                db, sql: "SELECT * FROM alerts \(filter) ORDER BY opened_at DESC, rowid DESC LIMIT ?", arguments: arguments
            ).map(Self.alert(from:))
        }
    }

    public func recordAlertEvent(_ alert: Alert, eventId: String, body: Data, at now: Date) async throws -> Bool {
        let details = String(decoding: try JSONEncoder().encode(alert.details), as: UTF8.self)
        return try await self.write { db in
            switch alert.state {
            case .open:
                let open = try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM alerts WHERE destination_id = ? AND rule = ? AND state = 'open'",
                    arguments: [alert.destinationId, alert.rule.rawValue]
                ) ?? 0
                guard open == 0 else { return false }
                try db.execute(
                    sql: """
                        INSERT INTO alerts (id, rule, destination_id, state, message, details, opened_at, resolved_at)
                        VALUES (?, ?, ?, 'open', ?, ?, ?, NULL)
                        """,
                    arguments: [alert.id, alert.rule.rawValue, alert.destinationId, alert.message, details, alert.openedAt.timeIntervalSince1970]
                )
            case .resolved:
                try db.execute(
                    sql: "UPDATE alerts SET state = 'resolved', resolved_at = ? WHERE id = ? AND state = 'open'",
                    arguments: [(alert.resolvedAt ?? now).timeIntervalSince1970, alert.id]
                )
                guard db.changesCount > 0 else { return false }
            }
            try db.execute(
                sql: """
                    INSERT INTO webhook_deliveries (event_id, subscription_id, body, due_at, created_at)
                    SELECT ?, id, ?, ?, ? FROM alert_subscriptions WHERE destination_id IS NULL OR destination_id = ?
                    """,
                arguments: [eventId, body, now.timeIntervalSince1970, now.timeIntervalSince1970, alert.destinationId]
            )
            return true
        }
    }

    private static func alert(from row: Row) throws -> Alert {
        let details: String = row["details"]
        return Alert(
            id: row["id"], rule: AlertRule(rawValue: row["rule"]) ?? .flowRunFailure, destinationId: row["destination_id"],
            state: AlertState(rawValue: row["state"]) ?? .resolved, message: row["message"],
            details: try JSONDecoder().decode([String: AlertDetail].self, from: Data(details.utf8)),
            openedAt: Date(timeIntervalSince1970: row["opened_at"]),
            resolvedAt: (row["resolved_at"] as Double?).map(Date.init(timeIntervalSince1970:))
        )
    }

    // MARK: subscriptions

    public func saveAlertSubscription(_ subscription: AlertSubscription) async throws {
        let sealed = try self.secrets.seal(Data(subscription.secret.utf8), boundTo: SealContext.subscriptionSecret(subscription.id))
        let sealedURL = try self.secrets.seal(Data(subscription.url.utf8), boundTo: SealContext.subscriptionURL(subscription.id))
        try await self.write { db in
            try db.execute(
                sql: """
                    INSERT INTO alert_subscriptions (id, url, sealed_url, sealed_secret, destination_id, created_at) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET url = excluded.url, sealed_url = excluded.sealed_url, sealed_secret = excluded.sealed_secret,
                        destination_id = excluded.destination_id
                    """,
                arguments: [
                    subscription.id, AlertSubscription.displayURL(subscription.url), sealedURL, sealed, subscription.destinationId,
                    subscription.createdAt.timeIntervalSince1970,
                ]
            )
        }
    }

    public func alertSubscriptions() async throws -> [AlertSubscription] {
        try await self.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM alert_subscriptions ORDER BY created_at, id").map { row in
                let id: String = row["id"]
                return AlertSubscription(
                    id: id, url: try self.open(row["sealed_url"], SealContext.subscriptionURL(id)),
                    secret: try self.open(row["sealed_secret"], SealContext.subscriptionSecret(id)),
                    destinationId: row["destination_id"], createdAt: Date(timeIntervalSince1970: row["created_at"])
                )
            }
        }
    }

    /// Deletes a subscription and erases its sealed URL and secret from the files.
    public func deleteAlertSubscription(id: String) async throws -> Bool {
        try await self.erase { db in
            try db.execute(sql: "DELETE FROM alert_subscriptions WHERE id = ?", arguments: [id])
            let deleted = db.changesCount > 0
            try db.execute(sql: "DELETE FROM webhook_deliveries WHERE subscription_id = ?", arguments: [id])
            return deleted
        }
    }

    private func open(_ sealed: Data, _ context: String) throws -> String {
        String(decoding: try self.secrets.open(sealed, boundTo: context), as: UTF8.self)
    }

    // MARK: webhook deliveries

    public func dueWebhookDeliveries(now: Date, limit: Int) async throws -> [WebhookDelivery] {
        // The webhook poll runs every few seconds and almost always finds nothing: it takes the
        // single writer only when something is due.
        let anyDue = try await self.pool.read { db in
            try !Row.fetchAll(db, sql: PeriodicQuery.dueWebhookDeliveries.sql, arguments: [now.timeIntervalSince1970, 1]).isEmpty
        }
        guard anyDue else { return [] }
        return try await self.write { db in
            let rows = try Row.fetchAll(db, sql: PeriodicQuery.dueWebhookDeliveries.sql, arguments: [now.timeIntervalSince1970, limit])
            let hold = try db.cachedStatement(sql: "UPDATE webhook_deliveries SET due_at = ? WHERE id = ?")
            return try rows.map { row in
                let subscription: String = row["subscription_id"]
                try hold.execute(arguments: [now.timeIntervalSince1970 + WebhookDelivery.lease, row["id"] as Int64])
                return WebhookDelivery(
                    id: row["id"], eventId: row["event_id"], subscriptionId: subscription,
                    url: try self.open(row["sealed_url"], SealContext.subscriptionURL(subscription)),
                    secret: try self.open(row["sealed_secret"], SealContext.subscriptionSecret(subscription)), body: row["body"],
                    attempts: row["attempts"], createdAt: Date(timeIntervalSince1970: row["created_at"])
                )
            }
        }
    }

    public func webhookDelivered(id: Int64) async throws {
        try await self.write { db in
            try db.execute(sql: "DELETE FROM webhook_deliveries WHERE id = ?", arguments: [id])
        }
    }

    public func webhookAttemptFailed(id: Int64, error: String, retryAt: Date?) async throws {
        try await self.write { db in
            try db.execute(
                sql: """
                    UPDATE webhook_deliveries SET attempts = attempts + 1, last_error = ?,
                        state = CASE WHEN ? IS NULL THEN 'failed' ELSE 'pending' END, due_at = COALESCE(?, due_at)
                    WHERE id = ?
                    """,
                arguments: [error, retryAt?.timeIntervalSince1970, retryAt?.timeIntervalSince1970, id]
            )
        }
    }

    // MARK: what the rules read

    public func oldestPendingChange(destinationId: String) async throws -> Date? {
        try await self.pool.read { db in
            try Double.fetchOne(db, sql: PeriodicQuery.oldestPendingChange.sql, arguments: [destinationId])
                .map(Date.init(timeIntervalSince1970:))
        }
    }

    public func failureCount(destinationId: String, code: String) async throws -> Int {
        try await self.pool.read { db in
            try Int.fetchOne(
                db, sql: PeriodicQuery.failureCount.sql, arguments: [destinationId, code]
            ) ?? 0
        }
    }
}
