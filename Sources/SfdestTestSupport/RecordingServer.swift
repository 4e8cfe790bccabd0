import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization

/// A tiny real HTTP server on a loopback port the OS picks, answering every request as told and
/// counting what it received: a fake login host that redirects, or the place a redirect points to
/// (which must receive nothing).
public struct RecordingServer: Sendable {
    /// One answer: status, headers, body.
    public struct Answer: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: String
        public init(status: Int, headers: [String: String] = [:], body: String = "") {
            self.status = status
            self.headers = headers
            self.body = body
        }
    }

    public let baseURL: String
    private let log: Log

    /// `METHOD /path` of every request received, in order.
    public var requests: [String] { self.log.entries.withLock { $0 } }

    /// Runs `body` with a server answering every request with `answer(method, path)`.
    public static func with<Result: Sendable>(
        answer: @escaping @Sendable (_ method: String, _ path: String) -> Answer,
        _ body: @Sendable (RecordingServer) async throws -> Result
    ) async throws -> Result {
        let log = Log()
        let router = Router()
        let respond: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            _ = try? await request.body.collect(upTo: 1 << 20)
            log.append("\(request.method) \(request.uri.path)")
            let reply = answer(request.method.rawValue, request.uri.path)
            var headers = HTTPFields()
            for (name, value) in reply.headers {
                if let field = HTTPField.Name(name) { headers[field] = value }
            }
            return Response(
                status: .init(code: reply.status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: reply.body))
            )
        }
        for method in [HTTPRequest.Method.get, .post, .patch, .put, .delete] {
            router.on("/**", method: method, use: respond)
        }
        var logger = Logger(label: "test.recording-server")
        logger.logLevel = .critical
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: logger
        )
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw HarnessFailure("the recording server did not start") }
            let server = RecordingServer(baseURL: "http://127.0.0.1:\(port)", log: log)
            do {
                let result = try await body(server)
                group.cancelAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }

    private init(baseURL: String, log: Log) {
        self.baseURL = baseURL
        self.log = log
    }
}

/// The requests a recording server received (shared by its handler and its value).
private final class Log: Sendable {
    let entries = Mutex<[String]>([])
    func append(_ entry: String) { self.entries.withLock { $0.append(entry) } }
}
