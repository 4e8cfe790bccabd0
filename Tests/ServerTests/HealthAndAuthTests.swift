import Foundation
import SfdestClient
import Testing

@Suite("Health, API keys and errors")
struct HealthAndAuthTests {
    @Test func healthNeedsNoKey() async throws {
        try await ServerHarness.run { harness in
            let reply = try await harness.api.send(.GET, "/health", authorization: .none)
            #expect(reply.status == 200)
            #expect(reply.object["status"] as? String == "ok")
        }
    }

    @Test func v1RoutesNeedAValidKey() async throws {
        try await ServerHarness.run { harness in
            // run
            let missing = try await harness.api.send(.GET, "/v1/connections", authorization: .none)
            let wrong = try await harness.api.send(.GET, "/v1/connections", authorization: .key("not-the-key"))
            let prefix = try await harness.api.send(.GET, "/v1/connections", authorization: .key(String(ServerHarness.apiKey.dropLast())))
            let basic = try await harness.api.send(.GET, "/v1/connections", authorization: .header("Basic dXNlcjpwdw=="))
            let good = try await harness.api.send(.GET, "/v1/connections")

            // validate
            for reply in [missing, wrong, prefix, basic] {
                #expect(reply.status == 401)
                #expect(reply.errorCode == "unauthorized")
                #expect(!reply.errorMessage.isEmpty)
            }
            #expect(good.status == 200)
            #expect(good.json as? [Any] != nil)
        }
    }

    @Test func unknownRouteIsAJSONNotFound() async throws {
        try await ServerHarness.run { harness in
            let reply = try await harness.api.send(.GET, "/v1/nothing-here")
            #expect(reply.status == 404)
            #expect(reply.errorCode == "not_found")
            let outside = try await harness.api.send(.GET, "/nowhere", authorization: .none)
            #expect(outside.status == 404)
            #expect(outside.errorCode == "not_found")
        }
    }

    @Test func refusedRequestsAreLoggedWithTheirRequestId() async throws {
        try await ServerHarness.run { harness in
            let reply = try await harness.api.send(.GET, "/v1/destinations/dest_missing")
            #expect(reply.status == 404)
            #expect(reply.errorCode == "destination_not_found")
            let requestId = try #require(reply.headers.first(name: "X-Request-Id"))
            let line = harness.logs.lines.first { $0.metadata["hb.request.id"] == requestId }
            #expect(line?.level == .info)
            #expect(line?.metadata["error.code"] == "destination_not_found")
        }
    }
}
