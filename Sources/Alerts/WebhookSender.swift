import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import SfdestBasics
import Store

/// Sends due webhook deliveries, signed, and records each outcome: done on 2xx; otherwise
/// retried with exponential backoff until `webhookRetention` has passed, then marked failed.
struct WebhookSender: Sendable {
    let store: any AlertStore
    let httpClient: HTTPClient
    let logger: Logger
    let options: AlertOptions

    /// Sends what is due now, concurrently; returns how many were due.
    @discardableResult
    func sendDue(now: Date = Date()) async throws -> Int {
        let due = try await self.store.dueWebhookDeliveries(now: now, limit: self.options.webhookBatch)
        await withDiscardingTaskGroup { group in
            for delivery in due {
                group.addTask { await self.send(delivery) }
            }
        }
        return due.count
    }

    private func send(_ delivery: WebhookDelivery) async {
        let failure: String?
        do {
            var request = HTTPClientRequest(url: delivery.url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "User-Agent", value: "sfdest-alerts")
            request.headers.add(name: WebhookSignature.header, value: WebhookSignature.sign(delivery.body, secret: delivery.secret))
            request.headers.add(name: WebhookSignature.eventIdHeader, value: delivery.eventId)
            request.body = .bytes(ByteBuffer(bytes: delivery.body))
            let response = try await self.httpClient.execute(request, timeout: .init(self.options.webhookTimeout))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            failure = (200..<300).contains(response.status.code) ? nil : "the receiver answered \(response.status.code)"
        } catch {
            failure = "the request failed: \(error)"
        }
        do {
            guard let failure else {
                try await self.store.webhookDelivered(id: delivery.id)
                self.logger.debug("alert event delivered", metadata: self.metadata(delivery))
                return
            }
            let attempts = delivery.attempts + 1
            let now = Date()
            var retryAt: Date? = now.addingTimeInterval(self.options.webhookBackoff(attempt: attempts))
            if now.timeIntervalSince(delivery.createdAt) >= self.options.webhookRetention { retryAt = nil }
            try await self.store.webhookAttemptFailed(id: delivery.id, error: failure, retryAt: retryAt)
            var metadata = self.metadata(delivery)
            metadata["attempts"] = "\(attempts)"
            metadata["error"] = "\(failure)"
            if retryAt == nil {
                self.logger.error("alert event could not be delivered: given up", metadata: metadata)
            } else {
                self.logger.warning("alert event delivery failed: will retry", metadata: metadata)
            }
        } catch {
            self.logger.error("could not record a webhook outcome", metadata: ["event": "\(delivery.eventId)", "error": "\(error)"])
        }
    }

    /// Identifies a delivery in logs without its secret or its URL's path (which may carry a token).
    private func metadata(_ delivery: WebhookDelivery) -> Logger.Metadata {
        ["event": "\(delivery.eventId)", "subscription": "\(delivery.subscriptionId)", "host": "\(URLComponents(string: delivery.url)?.host ?? "?")"]
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        self = .nanoseconds(duration.inNanoseconds)
    }
}
