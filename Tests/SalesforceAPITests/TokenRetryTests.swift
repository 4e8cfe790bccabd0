import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Testing

@testable import SalesforceAPI

/// The emulator cannot answer "token request is already being processed" on demand, so this suite
/// runs a tiny token endpoint on a loopback port that answers it a set number of times first.
@Suite("Token request retried while Salesforce is busy")
struct TokenRetryTests {
    /// Serves `/services/oauth2/token`, refusing the first `busyAnswers` requests as busy.
    private func withBusyTokenEndpoint(
        busyAnswers: Int, _ body: (_ baseURL: String, _ requests: NIOLockedValueBox<Int>) async throws -> Void
    ) async throws {
        let requests = NIOLockedValueBox(0)
        let router = Router()
        router.post("/services/oauth2/token") { _, _ -> Response in
            let count = requests.withLockedValue { $0 += 1; return $0 }
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            if count <= busyAnswers {
                let refusal = #"{"error":"invalid_grant","error_description":"token request is already being processed"}"#
                return Response(status: .badRequest, headers: headers, body: .init(byteBuffer: ByteBuffer(string: refusal)))
            }
            let token = #"{"access_token":"00D!fake","instance_url":"http://127.0.0.1:9","id":"http://127.0.0.1/id/00D000000000001AAA/005000000000001AAA","token_type":"Bearer","issued_at":"1278448832702"}"#
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: token)))
        }
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        // Cancelling the server logs a harmless shutdown error; keep test output clean.
        var serverLogger = Logger(label: "test.token-endpoint")
        serverLogger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) },
            logger: serverLogger
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            try await body("http://127.0.0.1:\(port)", requests)
            group.cancelAll()
        }
    }

    private func client(_ baseURL: String) throws -> SalesforceClient {
        try SalesforceClient(
            configuration: .init(login: .loginURL(baseURL), credentials: .clientCredentials(clientId: "id", clientSecret: "secret")),
            httpClient: .shared, logger: Logger(label: "test")
        )
    }

    @Test("a busy answer is retried after a short delay and then succeeds")
    func retriedUntilIssued() async throws {
        try await self.withBusyTokenEndpoint(busyAnswers: 2) { baseURL, requests in
            let session = try await self.client(baseURL).authenticate()
            #expect(session.instanceURL == "http://127.0.0.1:9")
            #expect(session.organizationId == "00D000000000001AAA")
            #expect(requests.withLockedValue { $0 } == 3)
        }
    }

    @Test("a token endpoint that stays busy ends in the typed invalid_grant error")
    func givesUp() async throws {
        try await self.withBusyTokenEndpoint(busyAnswers: 100) { baseURL, requests in
            let error = await salesforceError { try await self.client(baseURL).authenticate() }
            #expect(error?.code == "invalid_grant")
            #expect(error?.message == "token request is already being processed")
            #expect(requests.withLockedValue { $0 } == 4)
        }
    }
}
