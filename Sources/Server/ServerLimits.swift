import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import SfdestJSON
import Synchronization

/// Deadlines and caps of the HTTP server, so a slow or greedy client cannot hold it: past a cap the
/// client is answered 503 `overloaded` with `Retry-After`, past a deadline its connection is closed.
public struct ServerLimits: Sendable {
    /// How long a connection may stay silent: before its request head is complete (a request line
    /// sent in halves, headers trickled), between body chunks, and between requests.
    public var idleTimeout: Duration = .seconds(15)
    /// How long a whole request body may take to arrive, counted from its head.
    public var bodyTimeout: Duration = .seconds(120)
    /// Connections served at once; a connection past it is answered 503 and closed.
    public var maxConnections = 512
    /// Requests handled at once; a request past it is answered 503 `overloaded`, `Retry-After: 1`.
    public var maxRequestsInFlight = 256
    /// A request answered before its body was read (413, 401, 503) closes its connection after
    /// reading and discarding what is left of the body for at most this long and ...
    public var lingerTime: Duration = .seconds(10)
    /// ... at most this many bytes, so a client that writes its whole body before reading sees the
    /// answer (a body just over the 16 MiB profile limit included, even on a loaded machine).
    public var lingerBytes = 64 << 20

    public init() {}
}

// MARK: - Connections

/// A count with a ceiling, shared by every connection or request of one server.
final class Occupancy: Sendable {
    private let count = Atomic<Int>(0)

    /// Takes a place if fewer than `limit` are taken.
    func enter(limit: Int) -> Bool {
        let now = self.count.add(1, ordering: .relaxed).newValue
        if now > limit {
            self.count.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func leave() {
        self.count.subtract(1, ordering: .relaxed)
    }
}

/// HTTP/1 with the limits: the idle timeout of Hummingbird's channel, a cap on connections, and
/// per request a body deadline and a lingering close (`GuardedRequest`).
struct LimitedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let base: HTTP1Channel
    let limits: ServerLimits
    let connections: Occupancy

    init(responder: @escaping HTTPChannelHandler.Responder, limits: ServerLimits, connections: Occupancy) {
        let guarded: HTTPChannelHandler.Responder = { request, writer, channel in
            try await GuardedRequest.respond(request, writer, channel, limits: limits, next: responder)
        }
        self.base = HTTP1Channel(responder: guarded, configuration: .init(idleTimeout: TimeAmount(limits.idleTimeout)))
        self.limits = limits
        self.connections = connections
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        self.base.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        guard self.connections.enter(limit: self.limits.maxConnections) else {
            logger.warning("connection refused: too many open connections", metadata: ["limit": "\(self.limits.maxConnections)"])
            await Self.refuse(value)
            return
        }
        defer { self.connections.leave() }
        await self.base.handle(value: value, logger: logger)
    }

    /// Answers a connection past the cap 503 once its request head arrived (the idle timeout bounds
    /// the wait), then closes it.
    static func refuse(_ value: Value) async {
        let body = ByteBuffer(bytes: Overload.body(
            "the service has too many open connections: retry in a second, or reuse one connection for several requests"
        ))
        do {
            try await Self.answerRefusal(value, body: body)
        } catch {
            // The client went away first.
        }
    }

    private static func answerRefusal(_ value: Value, body: ByteBuffer) async throws {
        try await value.executeThenClose { inbound, outbound in
            var parts = inbound.makeAsyncIterator()
            _ = try await parts.next()
            let head = HTTPResponse(status: .serviceUnavailable, headerFields: [
                .retryAfter: "1", .connection: "close", .contentType: "application/json; charset=utf-8", .contentLength: "\(body.readableBytes)",
            ])
            try await outbound.write(.head(head))
            try await outbound.write(.body(body))
            try await outbound.write(.end(nil))
            outbound.finish()
            try await value.channel.closeFuture.get()
        }
    }
}

extension HTTPServerBuilder {
    /// sfdest's server: HTTP/1 with `limits`, over TLS when `tls` is given.
    static func sfdest(limits: ServerLimits, tls: ServerTLS?) -> HTTPServerBuilder {
        let connections = Occupancy()
        return HTTPServerBuilder { responder in
            let channel = LimitedHTTP1Channel(responder: responder, limits: limits, connections: connections)
            guard let tls else { return channel }
            return try TLSChannelFactory.wrap(channel, tls: tls)
        }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

// MARK: - Requests

/// The 503 `overloaded` answer's body.
enum Overload {
    static func body(_ message: String) -> [UInt8] {
        JSONWriter.encode(["error": ["code": "overloaded", "message": .string(message), "details": []]])
    }
}

/// One request's body as the handler reads it: through `BodyReader`, which knows whether it was
/// read to its end and fails it once the body deadline passed.
enum GuardedRequest {
    static func respond(
        _ request: Request, _ writer: consuming ResponseWriter, _ channel: any Channel, limits: ServerLimits,
        next: HTTPChannelHandler.Responder
    ) async throws {
        guard Self.hasBody(request) else {
            try await next(request, writer, channel)
            return
        }
        let reader = BodyReader(request.body, deadline: limits.bodyTimeout)
        var request = request
        request.body = RequestBody(asyncSequence: WatchedBody(reader: reader))
        let deadline = channel.eventLoop.scheduleTask(in: TimeAmount(limits.bodyTimeout)) {
            if reader.expire() { channel.close(promise: nil) }
        }
        do {
            try await next(request, writer, channel)
        } catch {
            deadline.cancel()
            throw error
        }
        deadline.cancel()
        if !reader.finished {
            await Self.lingeringClose(reader, channel: channel, limits: limits)
        }
    }

    /// A body is announced by a non-zero Content-Length or by Transfer-Encoding.
    static func hasBody(_ request: Request) -> Bool {
        if request.headers[.transferEncoding] != nil { return true }
        if let length = request.headers[.contentLength] { return length.trimmingCharacters(in: .whitespaces) != "0" }
        return false
    }

    /// The answer went out before the body was read: read and discard the rest for a bounded time
    /// and size, so a client writing its whole body before reading gets to read the answer. Past
    /// the bounds the connection is closed; a body drained to its end leaves it open for the next
    /// request (closing then races clients that finish their upload after the answer:
    /// AsyncHTTPClient reports the close as a failed request).
    static func lingeringClose(_ reader: BodyReader, channel: any Channel, limits: ServerLimits) async {
        let timer = channel.eventLoop.scheduleTask(in: TimeAmount(limits.lingerTime)) { channel.close(promise: nil) }
        var discarded = 0
        do {
            while let chunk = try await reader.nextUnguarded() {
                discarded += chunk.readableBytes
                if discarded > limits.lingerBytes { break }
            }
        } catch {}
        timer.cancel()
        if !reader.finished { channel.close(promise: nil) }
    }
}

/// Reads one request body once, shared by the handler and the lingering close.
final class BodyReader: @unchecked Sendable {
    // The iterator is only used by one task at a time: the handler, then the lingering close.
    private let body: RequestBody
    private var iterator: RequestBody.AsyncIterator?
    private let state = Mutex<(finished: Bool, expired: Bool)>((false, false))
    private let deadline: Duration

    init(_ body: RequestBody, deadline: Duration) {
        self.body = body
        self.deadline = deadline
    }

    /// The body was read to its end.
    var finished: Bool { self.state.withLock { $0.finished } }

    /// Marks the deadline passed unless the body was read to its end; true if it was not.
    func expire() -> Bool {
        self.state.withLock { state in
            guard !state.finished else { return false }
            state.expired = true
            return true
        }
    }

    /// The next chunk; after the deadline a 408 (the connection is closed by then).
    func next() async throws -> ByteBuffer? {
        let chunk = try await self.nextUnguarded()
        if self.state.withLock({ $0.expired }) {
            throw APIError(
                status: .requestTimeout, code: "request_timeout",
                message: "the request body did not arrive within \(self.deadline.seconds) s: send it faster, or in smaller requests"
            )
        }
        return chunk
    }

    func nextUnguarded() async throws -> ByteBuffer? {
        if self.state.withLock({ $0.finished }) { return nil }
        var iterator = self.iterator ?? self.body.makeAsyncIterator()
        let chunk = try await iterator.next()
        self.iterator = iterator
        if chunk == nil { self.state.withLock { $0.finished = true } }
        return chunk
    }
}

/// The request body the handler sees.
struct WatchedBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let reader: BodyReader

    struct AsyncIterator: AsyncIteratorProtocol {
        let reader: BodyReader
        mutating func next() async throws -> ByteBuffer? { try await self.reader.next() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(reader: self.reader) }
}

extension Duration {
    fileprivate var seconds: String {
        let (seconds, attoseconds) = self.components
        let milliseconds = attoseconds / 1_000_000_000_000_000
        guard milliseconds > 0 else { return "\(seconds)" }
        let digits = String(milliseconds)
        return "\(seconds)." + String(repeating: "0", count: 3 - digits.count) + digits
    }
}

/// The cap on requests in flight, in front of the router.
struct LimitsResponder<Base: HTTPResponder>: HTTPResponder {
    typealias Context = Base.Context
    let base: Base
    let limits: ServerLimits
    let inFlight = Occupancy()

    func respond(to request: Request, context: Context) async throws -> Response {
        var response: Response
        if self.inFlight.enter(limit: self.limits.maxRequestsInFlight) {
            defer { self.inFlight.leave() }
            response = try await self.base.respond(to: request, context: context)
        } else {
            let message = "the service is handling \(self.limits.maxRequestsInFlight) requests already: retry in a second"
            response = Response(
                status: .serviceUnavailable,
                headers: [.retryAfter: "1", .contentType: "application/json; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: Overload.body(message)))
            )
        }
        return response
    }
}
