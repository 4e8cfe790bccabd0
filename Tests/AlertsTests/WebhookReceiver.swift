import Crypto
import Foundation
import Hummingbird
import Logging
import Synchronization
import Testing

/// A real HTTP server on a loopback port the OS picked, that records every request it gets and
/// answers 500 to the first `failFirst` of them.
final class WebhookReceiver: Sendable {
    /// One request as it arrived.
    struct Received: Sendable {
        var body: Data
        var signature: String?
        var eventId: String?
        var contentType: String?

        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: self.body)) as? [String: Any] ?? [:] }

        /// Whether the signature header is the HMAC-SHA256 of the raw body under `secret`.
        func isSigned(with secret: String) -> Bool {
            let code = HMAC<SHA256>.authenticationCode(for: self.body, using: SymmetricKey(data: Data(secret.utf8)))
            return self.signature == "sha256=" + code.map { String(format: "%02x", $0) }.joined()
        }
    }

    private let requests = Mutex<[Received]>([])
    private let failuresLeft: Mutex<Int>

    init(failFirst: Int) {
        self.failuresLeft = Mutex(failFirst)
    }

    /// Every request received so far, in order.
    var received: [Received] { self.requests.withLock { $0 } }

    /// Runs `body` with a receiver listening at the URL it is given.
    static func with(failFirst: Int = 0, _ body: @Sendable (WebhookReceiver, String) async throws -> Void) async throws {
        let receiver = WebhookReceiver(failFirst: failFirst)
        let router = Router()
        router.post("hook") { request, _ -> Response in
            let buffer = try await request.body.collect(upTo: 1 << 20)
            let received = Received(
                body: Data(buffer.readableBytesView), signature: request.headers.first { $0.name.canonicalName == "x-sfdest-signature" }?.value,
                eventId: request.headers.first { $0.name.canonicalName == "x-sfdest-event-id" }?.value, contentType: request.headers[.contentType]
            )
            receiver.requests.withLock { $0.append(received) }
            let fail = receiver.failuresLeft.withLock { left in
                defer { left = max(0, left - 1) }
                return left > 0
            }
            return Response(status: fail ? .internalServerError : .noContent)
        }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        // Cancelling the receiver at the end of a test is expected: keep its server quiet.
        var quiet = Logger(label: "webhook-receiver")
        quiet.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
            logger: quiet
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService(gracefulShutdownSignals: []) }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            defer { group.cancelAll() }
            try await body(receiver, "http://127.0.0.1:\(port)/hook")
        }
    }

    /// Waits (bounded) until a request satisfies `predicate`; returns it.
    func waitFor(_ what: String, timeout: Duration = .seconds(30), _ predicate: (Received) -> Bool) async throws -> Received {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let found = self.received.first(where: predicate) { return found }
            try await Task.sleep(for: .milliseconds(25))
        }
        Issue.record("the receiver never got \(what); it got \(self.received.map { String(decoding: $0.body, as: UTF8.self) })")
        throw CancellationError()
    }
}
