import Foundation

/// Alert settings, alerts with their events, webhook subscriptions and the webhook deliveries
/// still to make (kept durably, so a restart continues them).
public protocol AlertStore: Sendable {
    /// The destination's settings; the defaults when none were saved.
    func alertSettings(destinationId: String) async throws -> AlertSettings
    func saveAlertSettings(_ settings: AlertSettings, destinationId: String) async throws

    /// Alerts newest first, optionally only in one state or of one destination.
    func alerts(state: AlertState?, destinationId: String?, limit: Int) async throws -> [Alert]
    /// Saves an alert that opens (`state == .open`) or resolves (`.resolved`) and, in the same
    /// transaction, queues `body` under `eventId` for every subscription that covers its destination.
    /// Returns false, changing nothing, when the rule already has an open alert for the destination
    /// (opening) or the alert is not open (resolving).
    func recordAlertEvent(_ alert: Alert, eventId: String, body: Data, at now: Date) async throws -> Bool

    func saveAlertSubscription(_ subscription: AlertSubscription) async throws
    func alertSubscriptions() async throws -> [AlertSubscription]
    /// Deletes the subscription and its deliveries still to make; false when there was none.
    func deleteAlertSubscription(id: String) async throws -> Bool

    /// Webhook deliveries due at `now`, oldest first, each held for `WebhookDelivery.lease` (due
    /// again then, unless delivered or failed meanwhile): processes polling at once, or a process
    /// that died mid-send, never make one event arrive twice at once.
    func dueWebhookDeliveries(now: Date, limit: Int) async throws -> [WebhookDelivery]
    /// The receiver took the event: the delivery is done.
    func webhookDelivered(id: Int64) async throws
    /// An attempt failed: try again at `retryAt`, or give up (nil) and keep it as failed.
    func webhookAttemptFailed(id: Int64, error: String, retryAt: Date?) async throws

    /// When the oldest change still waiting to be sent to the destination was queued (nil: none).
    func oldestPendingChange(destinationId: String) async throws -> Date?
    /// Records of the destination failed now with `code` (until replayed or delivered). Periodic:
    /// costs the failures with that code, not the history.
    func failureCount(destinationId: String, code: String) async throws -> Int
}
