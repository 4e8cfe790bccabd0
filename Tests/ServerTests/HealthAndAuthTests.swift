import Foundation
import Hummingbird
import Testing

@Suite("Health, API keys and errors")
struct HealthAndAuthTests {
    @Test func healthNeedsNoKey() async throws {
        try await ServerHarness.run { harness in
            let reply = try await harness.api.send(.get, "/health", key: nil)
            #expect(reply.status == .ok)
            #expect(reply.object["status"] as? String == "ok")
        }
    }

    @Test func v1RoutesNeedAValidKey() async throws {
        try await ServerHarness.run { harness in
            // run
            let missing = try await harness.api.send(.get, "/v1/connections", key: nil)
            let wrong = try await harness.api.send(.get, "/v1/connections", key: "not-the-key")
            let prefix = try await harness.api.send(.get, "/v1/connections", key: String(ServerHarness.apiKey.dropLast()))
            let basic = try await harness.api.client.execute(uri: "/v1/connections", method: .get, headers: [.authorization: "Basic dXNlcjpwdw=="]) { response in
                Reply(status: response.status, headers: response.headers, text: String(buffer: response.body))
            }
            let good = try await harness.api.send(.get, "/v1/connections")

            // validate
            for reply in [missing, wrong, prefix, basic] {
                #expect(reply.status == .unauthorized)
                #expect(reply.errorCode == "unauthorized")
                #expect(!reply.errorMessage.isEmpty)
            }
            #expect(good.status == .ok)
            #expect(good.json as? [Any] != nil)
        }
    }

    @Test func unknownRouteIsAJSONNotFound() async throws {
        try await ServerHarness.run { harness in
            let reply = try await harness.api.send(.get, "/v1/nothing-here")
            #expect(reply.status == .notFound)
            #expect(reply.errorCode == "not_found")
            let outside = try await harness.api.send(.get, "/nowhere", key: nil)
            #expect(outside.status == .notFound)
            #expect(outside.errorCode == "not_found")
        }
    }

    @Test func refusedRequestsAreLoggedWithTheirRequestId() async throws {
        try await ServerHarness.run { harness in
            let reply = try await harness.api.send(.get, "/v1/destinations/dest_missing")
            #expect(reply.status == .notFound)
            #expect(reply.errorCode == "destination_not_found")
            let requestId = try #require(reply.headers[HTTPFields.Element.Name("X-Request-Id")!])
            let line = harness.logs.all.first { $0.metadata["hb.request.id"] == requestId }
            #expect(line?.level == .info)
            #expect(line?.metadata["error.code"] == "destination_not_found")
        }
    }
}
