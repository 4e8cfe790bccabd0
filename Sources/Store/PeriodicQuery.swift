/// The store's queries that run on a timer whatever the load: delivery's poll (every 250 ms),
/// the alert check (every 5 s per destination), the webhook poll and the `/metrics` gauges.
/// Each must cost what is queued, never what was ever stored: each names the index its plan must
/// use, and `StoreTests` checks the plan (`EXPLAIN QUERY PLAN`) and that the rows it visits do not
/// grow with delivered history.
public enum PeriodicQuery: CaseIterable, Sendable {
    /// When the next queued record not in flight is due.
    case nextDuePending
    /// When the first claim on records in flight expires (a crashed or stuck sender).
    case nextClaimExpiry
    /// When the oldest change still waiting was queued (the flow-run-delay alert).
    case oldestPendingChange
    /// Records that are failed now with one code, until replayed or delivered (the retry-exhausted alert).
    case failureCount
    /// A destination's backlog counters (pending, in flight, retrying).
    case backlogCounts
    /// A destination's failed records.
    case failedCount
    /// A destination's latest run window.
    case latestRuns
    /// A destination's open alerts.
    case openAlerts
    /// A destination's alert settings.
    case alertSettings
    /// Webhook deliveries due now.
    case dueWebhookDeliveries
    /// Profiles stored (a gauge).
    case profileCount

    /// The statement. `?` are bound in the order the store passes them.
    public var sql: String {
        switch self {
        case .nextDuePending:
            // INDEXED BY: on its own the planner may pick the primary key, which visits every record
            // the destination ever had (measured: 48-60 ms at 300,000 delivered records).
            return "SELECT MIN(due_at) FROM records INDEXED BY records_due WHERE destination_id = ? AND pending IS NOT NULL AND in_flight = 0"
        case .nextClaimExpiry:
            return "SELECT MIN(claimed_until) FROM records INDEXED BY records_due WHERE destination_id = ? AND pending IS NOT NULL AND in_flight = 1"
        case .oldestPendingChange:
            return "SELECT MIN(queued_at) FROM records INDEXED BY records_due WHERE destination_id = ? AND pending IS NOT NULL"
        case .failureCount:
            // INDEXED BY: with the code bound as a parameter the planner may take the primary key and
            // visit every failure and exclusion of the destination.
            return "SELECT COUNT(*) FROM failures INDEXED BY failures_code WHERE destination_id = ? AND kind = 'failed' AND code = ?"
        case .backlogCounts:
            return "SELECT pending, in_flight, retrying FROM queue_counts WHERE destination_id = ?"
        case .failedCount:
            return "SELECT COUNT(*) FROM failures WHERE destination_id = ? AND kind = 'failed'"
        case .latestRuns:
            return "SELECT * FROM runs WHERE destination_id = ? ORDER BY hour_start DESC LIMIT ?"
        case .openAlerts:
            // The literal 'open' lets SQLite use the partial index of open alerts; resolved alerts
            // accumulate and are never visited.
            return "SELECT * FROM alerts WHERE destination_id = ? AND state = 'open' ORDER BY opened_at DESC, rowid DESC LIMIT ?"
        case .alertSettings:
            return "SELECT settings FROM alert_settings WHERE destination_id = ?"
        case .dueWebhookDeliveries:
            return """
                SELECT d.id, d.event_id, d.subscription_id, d.body, d.attempts, d.created_at, s.sealed_url, s.sealed_secret
                FROM webhook_deliveries d JOIN alert_subscriptions s ON s.id = d.subscription_id
                WHERE d.state = 'pending' AND d.due_at <= ? ORDER BY d.due_at, d.id LIMIT ?
                """
        case .profileCount:
            return "SELECT value FROM store_counts WHERE name = 'profiles'"
        }
    }

    /// What `EXPLAIN QUERY PLAN` must say for each table the query reads, in SQLite's words: a
    /// SEARCH through the named index or primary key, never a SCAN (sorting the few rows found,
    /// `USE TEMP B-TREE`, is not listed).
    public var expectedPlan: [String] {
        switch self {
        case .nextDuePending: return ["SEARCH records USING INDEX records_due (destination_id=? AND in_flight=?)"]
        case .nextClaimExpiry: return ["SEARCH records USING INDEX records_due (destination_id=? AND in_flight=?)"]
        case .oldestPendingChange: return ["SEARCH records USING INDEX records_due (destination_id=?)"]
        case .failureCount: return ["SEARCH failures USING COVERING INDEX failures_code (destination_id=? AND kind=? AND code=?)"]
        case .backlogCounts: return ["SEARCH queue_counts USING PRIMARY KEY (destination_id=?)"]
        case .failedCount: return ["SEARCH failures USING COVERING INDEX failures_code (destination_id=? AND kind=?)"]
        case .latestRuns: return ["SEARCH runs USING PRIMARY KEY (destination_id=?)"]
        case .openAlerts: return ["SEARCH alerts USING INDEX alerts_one_open (destination_id=?)"]
        case .alertSettings: return ["SEARCH alert_settings USING INDEX sqlite_autoindex_alert_settings_1 (destination_id=?)"]
        case .dueWebhookDeliveries:
            return [
                "SEARCH d USING INDEX webhook_deliveries_due (state=? AND due_at<?)",
                "SEARCH s USING INDEX sqlite_autoindex_alert_subscriptions_1 (id=?)",
            ]
        case .profileCount: return ["SEARCH store_counts USING PRIMARY KEY (name=?)"]
        }
    }
}
