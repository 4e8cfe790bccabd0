import AsyncHTTPClient
import Foundation
import SfdestBasics
import SfdestTestSupport
import Store
import Testing

@testable import Alerts

/// The webhook URL is checked again at each send (DNS can change after subscribing): a host the
/// policy refuses receives nothing, and the attempt is recorded as refused.
@Suite("Webhook sends check the address again")
struct WebhookSendCheckTests {
    @Test func aHostThePolicyRefusesAtSendTimeReceivesNothing() async throws {
        try await RecordingServer.with(answer: { _, _ in .init(status: 200) }) { receiver in
            // setup: a subscription stored as it was accepted earlier (when loopback was allowed),
            // and one alert event queued for it
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-webhook-check-\(UUID().uuidString).sqlite").path
            defer {
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            }
            let store = try SQLiteStore(path: path, secrets: try SecretBox(base64Key: SecretBox.generateKey()))
            let port = try #require(receiver.baseURL.split(separator: ":").last)
            let now = Date()
            try await store.saveAlertSubscription(AlertSubscription(
                id: "sub_1", url: "http://localhost:\(port)/hook", secret: "s3cret-s3cret-s3cret", destinationId: nil, createdAt: now
            ))
            let alert = Alert(id: "alert_1", rule: .flowRunDelay, destinationId: "dest_1", state: .open, message: "late", details: [:], openedAt: now)
            #expect(try await store.recordAlertEvent(alert, eventId: "evt_1", body: Data("{}".utf8), at: now))
            let logs = CapturedLogs()

            // run: the service now listens on every interface, so loopback is refused
            let sender = WebhookSender(
                store: store, httpClient: .shared, logger: logs.logger(label: "test"), options: AlertOptions(),
                hostPolicy: .salesforceOnly
            )
            #expect(try await sender.sendDue(now: now) == 1)

            // validate
            #expect(receiver.requests.isEmpty)
            #expect(logs.all.contains { $0.contains("refused: localhost is loopback") }, "\(logs.all)")
            #expect(try await store.dueWebhookDeliveries(now: now, limit: 10).isEmpty) // retried later, not now

            // The same delivery goes out once loopback is allowed again.
            let allowed = WebhookSender(
                store: store, httpClient: .shared, logger: logs.logger(label: "test"), options: AlertOptions(),
                hostPolicy: .salesforceAndLoopback
            )
            #expect(try await allowed.sendDue(now: now.addingTimeInterval(3600)) == 1)
            #expect(receiver.requests == ["POST /hook"])
        }
    }
}
