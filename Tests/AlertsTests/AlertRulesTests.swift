import Alerts
import Foundation
@testable import Store
import Testing

@Suite("Alert rules at their thresholds")
struct AlertRulesTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func snapshot(received: Int = 0, excluded: Int = 0, activated: Int = 0, failed: Int = 0, status: DeliveryState.Kind = .idle, retryExhausted: Int = 0, oldestPending: Date? = nil) -> DestinationSnapshot {
        let run = DataflowRun(
            start: self.now.addingTimeInterval(-600), end: self.now.addingTimeInterval(3000), received: received,
            activated: activated, unchanged: 0, excluded: excluded, failed: failed
        )
        return DestinationSnapshot(
            latestRun: received > 0 ? run : nil, delivery: DeliveryState(status, reason: status == .idle ? nil : "INVALID_FIELD: No such column"),
            deliveryError: nil, retryExhausted: retryExhausted, oldestPending: oldestPending, now: self.now
        )
    }

    @Test func skipRateFiresOnlyAboveTheThresholdAndWithEnoughReceived() {
        let settings = AlertSettings()
        // 1 of 100 is exactly 1%: not above the default threshold.
        #expect(AlertRules.evaluate(self.snapshot(received: 100, excluded: 1, activated: 99), settings: settings)[.activationSkipRateExceeded] == nil)
        let above = AlertRules.evaluate(self.snapshot(received: 100, excluded: 2, activated: 98), settings: settings)[.activationSkipRateExceeded]
        #expect(above?.details["skipRate"] == .number(0.02))
        #expect(above?.message.contains("2 of 100") == true)
        var strict = AlertSettings()
        strict.skipRateMinimumReceived = 101
        #expect(AlertRules.evaluate(self.snapshot(received: 100, excluded: 50, activated: 50), settings: strict)[.activationSkipRateExceeded] == nil)
    }

    @Test func failureFiresOnStoppedDeliveryOrRetryExhaustion() {
        let settings = AlertSettings()
        #expect(AlertRules.evaluate(self.snapshot(status: .backingOff), settings: settings)[.flowRunFailure] == nil)
        #expect(AlertRules.evaluate(self.snapshot(status: .pausedAPILimit), settings: settings)[.flowRunFailure] == nil)
        #expect(AlertRules.evaluate(self.snapshot(status: .failed), settings: settings)[.flowRunFailure]?.message.contains("INVALID_FIELD") == true)
        #expect(AlertRules.evaluate(self.snapshot(status: .authenticationFailed), settings: settings)[.flowRunFailure] != nil)
        #expect(AlertRules.evaluate(self.snapshot(retryExhausted: 3), settings: settings)[.flowRunFailure]?.details["retryExhausted"] == .number(3))
    }

    @Test func delayFiresOnlyPastTheThreshold() {
        var settings = AlertSettings()
        #expect(AlertRules.evaluate(self.snapshot(oldestPending: self.now.addingTimeInterval(-900)), settings: settings)[.flowRunDelay] == nil)
        #expect(AlertRules.evaluate(self.snapshot(oldestPending: self.now.addingTimeInterval(-901)), settings: settings)[.flowRunDelay] != nil)
        settings.delayThresholdSeconds = 5
        #expect(AlertRules.evaluate(self.snapshot(oldestPending: self.now.addingTimeInterval(-6)), settings: settings)[.flowRunDelay] != nil)
        #expect(AlertRules.evaluate(self.snapshot(), settings: settings)[.flowRunDelay] == nil)
    }

    @Test func runStartAndSuccessAreOffByDefault() {
        let processing = self.snapshot(received: 10, activated: 5)
        let completed = self.snapshot(received: 10, activated: 10)
        #expect(AlertRules.evaluate(processing, settings: AlertSettings())[.flowRunStart] == nil)
        #expect(AlertRules.evaluate(completed, settings: AlertSettings())[.flowRunSuccess] == nil)
        var settings = AlertSettings()
        settings.runStart = true
        settings.runSuccess = true
        #expect(AlertRules.evaluate(processing, settings: settings)[.flowRunStart] != nil)
        #expect(AlertRules.evaluate(processing, settings: settings)[.flowRunSuccess] == nil)
        #expect(AlertRules.evaluate(completed, settings: settings)[.flowRunStart] == nil)
        #expect(AlertRules.evaluate(completed, settings: settings)[.flowRunSuccess] != nil)
        #expect(AlertRules.evaluate(self.snapshot(received: 10, activated: 9, failed: 1), settings: settings)[.flowRunSuccess] == nil)
    }
}

@Suite("Alert store")
struct AlertStoreTests {
    @Test func webhookDeliveriesSurviveARestartAndRetryUntilGivenUp() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-alert-store-\(UUID().uuidString).sqlite").path
        defer {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
        let secrets = try SecretBox(base64Key: SecretBox.generateKey())
        let now = Date()
        do {
            let store = try SQLiteStore(path: path, secrets: secrets)
            try await store.saveAlertSubscription(AlertSubscription(id: "sub_all", url: "https://hooks.example.com/a", secret: "s3cret-s3cret-s3cret", destinationId: nil, createdAt: now))
            try await store.saveAlertSubscription(AlertSubscription(id: "sub_other", url: "https://hooks.example.com/b", secret: "another-secret-value", destinationId: "dest_other", createdAt: now))
            let alert = Alert(id: "alert_1", rule: .flowRunDelay, destinationId: "dest_1", state: .open, message: "late", details: ["waitedSeconds": .number(20)], openedAt: now)
            #expect(try await store.recordAlertEvent(alert, eventId: "evt_1", body: Data("{}".utf8), at: now))
            // One open alert per rule and destination.
            var again = alert
            again.id = "alert_2"
            #expect(try await store.recordAlertEvent(again, eventId: "evt_2", body: Data("{}".utf8), at: now) == false)
        }
        // A restart: the pending delivery is still there, for the subscription that covers dest_1 only.
        let store = try SQLiteStore(path: path, secrets: secrets)
        let due = try await store.dueWebhookDeliveries(now: now, limit: 10)
        #expect(due.map(\.subscriptionId) == ["sub_all"])
        #expect(due.first?.secret == "s3cret-s3cret-s3cret")
        #expect(due.first?.eventId == "evt_1")
        let id = try #require(due.first?.id)
        try await store.webhookAttemptFailed(id: id, error: "the receiver answered 500", retryAt: now.addingTimeInterval(60))
        #expect(try await store.dueWebhookDeliveries(now: now, limit: 10).isEmpty)
        #expect(try await store.dueWebhookDeliveries(now: now.addingTimeInterval(61), limit: 10).first?.attempts == 1)
        try await store.webhookAttemptFailed(id: id, error: "gone", retryAt: nil)
        #expect(try await store.dueWebhookDeliveries(now: now.addingTimeInterval(1e6), limit: 10).isEmpty)
        // Resolving queues the resolved event; the alert list shows it newest first.
        var resolved = try #require(try await store.alerts(state: .open, destinationId: "dest_1", limit: 10).first)
        resolved.state = .resolved
        resolved.resolvedAt = now.addingTimeInterval(5)
        #expect(try await store.recordAlertEvent(resolved, eventId: "evt_3", body: Data("{}".utf8), at: now.addingTimeInterval(5)))
        #expect(try await store.alerts(state: .open, destinationId: nil, limit: 10).isEmpty)
        #expect(try await store.alerts(state: nil, destinationId: "dest_1", limit: 10).first?.resolvedAt != nil)
        #expect(try await store.dueWebhookDeliveries(now: now.addingTimeInterval(5), limit: 10).map(\.eventId) == ["evt_3"])
        // The secret is sealed at rest.
        let raw = try Data(contentsOf: URL(fileURLWithPath: path)) + ((try? Data(contentsOf: URL(fileURLWithPath: path + "-wal"))) ?? Data())
        #expect(raw.range(of: Data("s3cret-s3cret-s3cret".utf8)) == nil)
    }
}
