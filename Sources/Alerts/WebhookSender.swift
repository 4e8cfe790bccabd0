import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import SfdestBasics
import Store

/// Sends due webhook deliveries, signed, and records each outcome: done on 2xx; otherwise
/// retried with exponential backoff until `webhookRetention` has passed, then marked failed.
///
/// Each send checks the URL again (it was checked at subscribe time, but DNS can change since):
/// the host is resolved, every address checked against `hostPolicy`, and the connection made to
/// the checked address (`dnsOverride`, the certificate still verified for the host name), so a
/// name cannot resolve to an allowed address for the check and a private one for the send.
/// Redirects are never followed.
struct WebhookSender: Sendable {
    let store: any AlertStore
    let httpClient: HTTPClient
    let logger: Logger
    let options: AlertOptions
    let hostPolicy: OutboundHostPolicy

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
            let target = try await self.checkedTarget(delivery.url)
            var request = HTTPClientRequest(url: delivery.url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "User-Agent", value: "sfdest-alerts")
            request.headers.add(name: WebhookSignature.header, value: WebhookSignature.sign(delivery.body, secret: delivery.secret))
            request.headers.add(name: WebhookSignature.eventIdHeader, value: delivery.eventId)
            request.body = .bytes(ByteBuffer(bytes: delivery.body))
            let status = try await self.execute(request, pinning: target)
            switch status {
            case 200..<300: failure = nil
            case 300..<400: failure = "the receiver answered \(status), a redirect: sfdest does not follow redirects (subscribe the final URL)"
            default: failure = "the receiver answered \(status)"
            }
        } catch let refusal as WebhookHostRefusal {
            failure = "refused: \(refusal.message)"
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

    /// The host to connect to and the checked address to reach it at (nil when the URL names an
    /// address itself), or the reason the URL may not be called now.
    private func checkedTarget(_ url: String) async throws -> (host: String, address: IPAddressLiteral)? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              let host = components.host, !host.isEmpty
        else {
            throw WebhookHostRefusal(message: "the subscription's URL is not an absolute URL")
        }
        guard scheme == "https" || (scheme == "http" && OutboundHostPolicy.isLoopback(host: host)) else {
            throw WebhookHostRefusal(message: "the subscription's URL must use https:// (http:// only for loopback)")
        }
        switch await self.hostPolicy.webhookAddresses(host: host) {
        case .failure(let refusal):
            throw refusal
        case .success(let addresses):
            return IPAddressLiteral(host: host) == nil ? (host, addresses[0]) : nil
        }
    }

    /// Sends the request and drains the answer; returns the status. A host name is reached at its
    /// checked address through a client of its own (the shared one cannot pin an address).
    private func execute(_ request: HTTPClientRequest, pinning target: (host: String, address: IPAddressLiteral)?) async throws -> UInt {
        let timeout = TimeAmount(self.options.webhookTimeout)
        guard let target else {
            let response = try await self.httpClient.execute(request, timeout: timeout)
            _ = try? await response.body.collect(upTo: 64 * 1024)
            return response.status.code
        }
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.dnsOverride = [target.host: target.address.description]
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let response = try await client.execute(request, timeout: timeout)
            _ = try? await response.body.collect(upTo: 64 * 1024)
            try await client.shutdown()
            return response.status.code
        } catch {
            try? await client.shutdown()
            throw error
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
