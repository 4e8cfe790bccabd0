import Foundation
import PostgresNIO
import Store

extension PostgresStore: AlertStore {
    // MARK: settings

    public func alertSettings(destinationId: String) async throws -> AlertSettings {
        guard let row = try await self.rows("SELECT settings FROM alert_settings WHERE destination_id = \(destinationId)").first else {
            return AlertSettings()
        }
        return try JSONDecoder().decode(AlertSettings.self, from: Data(try row.value("settings", as: String.self).utf8))
    }

    public func saveAlertSettings(_ settings: AlertSettings, destinationId: String) async throws {
        let text = String(decoding: try JSONEncoder().encode(settings), as: UTF8.self)
        try await self.client.query("""
            INSERT INTO alert_settings (destination_id, settings) VALUES (\(destinationId), \(text))
            ON CONFLICT (destination_id) DO UPDATE SET settings = EXCLUDED.settings
            """, logger: self.logger)
    }

    // MARK: alerts

    public func alerts(state: AlertState?, destinationId: String?, limit: Int) async throws -> [Alert] {
        let query: PostgresQuery
        switch (state, destinationId) {
        case (.open, let destinationId?):
            // The alert check's question, every few seconds: the partial index of open alerts.
            query = PostgresPeriodicQuery.openAlerts.query(destinationId, limit: limit)
        case (let state?, let destinationId?):
            query = "SELECT * FROM alerts WHERE state = \(state.rawValue) AND destination_id = \(destinationId) ORDER BY opened_at DESC, seq DESC LIMIT \(limit)"
        case (let state?, nil):
            query = "SELECT * FROM alerts WHERE state = \(state.rawValue) ORDER BY opened_at DESC, seq DESC LIMIT \(limit)"
        case (nil, let destinationId?):
            query = "SELECT * FROM alerts WHERE destination_id = \(destinationId) ORDER BY opened_at DESC, seq DESC LIMIT \(limit)"
        case (nil, nil):
            query = "SELECT * FROM alerts ORDER BY opened_at DESC, seq DESC LIMIT \(limit)"
        }
        return try await self.rows(query).map(Self.alert(from:))
    }

    /// Opens or resolves an alert and queues its webhooks in one transaction. Two processes
    /// opening the same rule's alert at once: the unique index of open alerts lets one in, and the
    /// other changes nothing (false), so each event is sent once.
    public func recordAlertEvent(_ alert: Alert, eventId: String, body: Data, at now: Date) async throws -> Bool {
        let details = String(decoding: try JSONEncoder().encode(alert.details), as: UTF8.self)
        return try await self.transaction { connection in
            switch alert.state {
            case .open:
                let opened = try await self.rows("""
                    INSERT INTO alerts (id, rule, destination_id, state, message, details, opened_at, resolved_at)
                    VALUES (\(alert.id), \(alert.rule.rawValue), \(alert.destinationId), 'open', \(alert.message), \(details),
                        \(alert.openedAt.timeIntervalSince1970), NULL)
                    ON CONFLICT (destination_id, rule) WHERE state = 'open' DO NOTHING RETURNING id
                    """, on: connection)
                guard !opened.isEmpty else { return false }
            case .resolved:
                let resolved = try await self.rows("""
                    UPDATE alerts SET state = 'resolved', resolved_at = \((alert.resolvedAt ?? now).timeIntervalSince1970)
                    WHERE id = \(alert.id) AND state = 'open' RETURNING id
                    """, on: connection)
                guard !resolved.isEmpty else { return false }
            }
            try await connection.query("""
                INSERT INTO webhook_deliveries (event_id, subscription_id, body, due_at, created_at)
                SELECT \(eventId), id, \(body), \(now.timeIntervalSince1970), \(now.timeIntervalSince1970) FROM alert_subscriptions
                WHERE destination_id IS NULL OR destination_id = \(alert.destinationId)
                """, logger: self.logger)
            return true
        }
    }

    private static func alert(from row: PostgresRandomAccessRow) throws -> Alert {
        Alert(
            id: try row.value("id"), rule: AlertRule(rawValue: try row.value("rule")) ?? .flowRunFailure,
            destinationId: try row.value("destination_id"), state: AlertState(rawValue: try row.value("state")) ?? .resolved,
            message: try row.value("message"),
            details: try JSONDecoder().decode([String: AlertDetail].self, from: Data(try row.value("details", as: String.self).utf8)),
            openedAt: try row.date("opened_at"), resolvedAt: try row.optionalDate("resolved_at")
        )
    }

    // MARK: subscriptions

    public func saveAlertSubscription(_ subscription: AlertSubscription) async throws {
        let sealed = try self.secrets.seal(Data(subscription.secret.utf8), boundTo: SealContext.subscriptionSecret(subscription.id))
        let sealedURL = try self.secrets.seal(Data(subscription.url.utf8), boundTo: SealContext.subscriptionURL(subscription.id))
        try await self.client.query("""
            INSERT INTO alert_subscriptions (id, url, sealed_url, sealed_secret, destination_id, created_at)
            VALUES (\(subscription.id), \(AlertSubscription.displayURL(subscription.url)), \(sealedURL), \(sealed), \(subscription.destinationId),
                \(subscription.createdAt.timeIntervalSince1970))
            ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, sealed_url = EXCLUDED.sealed_url, sealed_secret = EXCLUDED.sealed_secret,
                destination_id = EXCLUDED.destination_id
            """, logger: self.logger)
    }

    public func alertSubscriptions() async throws -> [AlertSubscription] {
        try await self.rows("SELECT * FROM alert_subscriptions ORDER BY created_at, id").map { row in
            let id = try row.value("id", as: String.self)
            return AlertSubscription(
                id: id, url: try self.open(try row.value("sealed_url"), SealContext.subscriptionURL(id)),
                secret: try self.open(try row.value("sealed_secret"), SealContext.subscriptionSecret(id)),
                destinationId: try row.value("destination_id"), createdAt: try row.date("created_at")
            )
        }
    }

    public func deleteAlertSubscription(id: String) async throws -> Bool {
        try await self.transaction { connection in
            let deleted = try await self.rows("DELETE FROM alert_subscriptions WHERE id = \(id) RETURNING id", on: connection)
            try await connection.query("DELETE FROM webhook_deliveries WHERE subscription_id = \(id)", logger: self.logger)
            return !deleted.isEmpty
        }
    }

    private func open(_ sealed: Data, _ context: String) throws -> String {
        String(decoding: try self.secrets.open(sealed, boundTo: context), as: UTF8.self)
    }

    // MARK: webhook deliveries

    /// The deliveries due at `now`, each taken for this process (`SKIP LOCKED`, then due again a
    /// lease later): processes polling at once never send one event twice.
    public func dueWebhookDeliveries(now: Date, limit: Int) async throws -> [WebhookDelivery] {
        let rows = try await self.rows(
            PostgresPeriodicQuery.dueWebhookDeliveries.query(limit: limit, now: now.timeIntervalSince1970, lease: WebhookDelivery.lease)
        )
        var deliveries: [WebhookDelivery] = []
        for row in rows {
            let subscription = try row.value("subscription_id", as: String.self)
            guard let url = try row.value("sealed_url", as: Data?.self), let secret = try row.value("sealed_secret", as: Data?.self) else { continue }
            deliveries.append(WebhookDelivery(
                id: try row.value("id"), eventId: try row.value("event_id"), subscriptionId: subscription,
                url: try self.open(url, SealContext.subscriptionURL(subscription)),
                secret: try self.open(secret, SealContext.subscriptionSecret(subscription)), body: try row.value("body"),
                attempts: try row.value("attempts"), createdAt: try row.date("created_at")
            ))
        }
        return deliveries.sorted { $0.id < $1.id }
    }

    public func webhookDelivered(id: Int64) async throws {
        try await self.client.query("DELETE FROM webhook_deliveries WHERE id = \(id)", logger: self.logger)
    }

    public func webhookAttemptFailed(id: Int64, error: String, retryAt: Date?) async throws {
        let retry = retryAt?.timeIntervalSince1970
        try await self.client.query("""
            UPDATE webhook_deliveries SET attempts = attempts + 1, last_error = \(error),
                state = CASE WHEN \(retry)::double precision IS NULL THEN 'failed' ELSE 'pending' END, due_at = COALESCE(\(retry), due_at)
            WHERE id = \(id)
            """, logger: self.logger)
    }

    // MARK: what the rules read

    public func oldestPendingChange(destinationId: String) async throws -> Date? {
        try await self.rows(PostgresPeriodicQuery.oldestPendingChange.query(destinationId)).first?.optionalDate("oldest")
    }

    public func failureCount(destinationId: String, code: String) async throws -> Int {
        try await self.rows(PostgresPeriodicQuery.failureCount.query(destinationId, code: code)).first?.value("count", as: Int.self) ?? 0
    }
}
