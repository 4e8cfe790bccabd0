import Foundation
import SfdestClient
import Testing

@Suite("Profile ingest")
struct ProfileIngestTests {
    @Test func oneObjectAnArrayAndNDJSONAreAcceptedWithRejectionsByIndex() async throws {
        try await ServerHarness.run { harness in
            // setup
            let ids = harness.emulator.seededContactIds
            let good = ServerHarness.profile(crmId: ids[0])
            let noIdentity: [String: Any] = ["person": ["name": ["lastName": "Nobody"]]]
            let line = { (object: Any) in String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self) }

            // run
            let single = try await harness.api.send(.POST, "/v1/profiles", json: good)
            let array = try await harness.api.send(.POST, "/v1/profiles", json: [good, noIdentity, ServerHarness.profile(crmId: ids[1])])
            let ndjson = try await harness.api.send(
                .POST, "/v1/profiles", text: [try line(good), "{not json", try line(noIdentity), try line(good)].joined(separator: "\n") + "\n",
                contentType: "application/x-ndjson"
            )

            // validate
            #expect(single.status == 202)
            #expect(single.object["accepted"] as? Int == 1)
            #expect((single.object["rejected"] as? [Any])?.isEmpty == true)
            #expect(array.status == 202)
            #expect(array.object["accepted"] as? Int == 2)
            let arrayRejected = try #require(array.object["rejected"] as? [[String: Any]])
            #expect(arrayRejected.map { $0["index"] as? Int } == [1])
            #expect((arrayRejected.first?["error"] as? String)?.contains("identityMap") == true)
            #expect(ndjson.status == 202)
            #expect(ndjson.object["accepted"] as? Int == 2)
            let lineRejected = try #require(ndjson.object["rejected"] as? [[String: Any]])
            #expect(lineRejected.map { $0["index"] as? Int } == [1, 2])
            #expect(try await harness.store.profileCount() == 2)
        }
    }

    @Test func aBodyThatIsNotJSONIsMalformed() async throws {
        try await ServerHarness.run { harness in
            let text = try await harness.api.send(.POST, "/v1/profiles", text: "hello, profiles", contentType: "text/plain")
            let empty = try await harness.api.send(.POST, "/v1/profiles", text: "  ")
            #expect(text.status == 400)
            #expect(text.errorCode == "malformed_json")
            #expect(text.errorMessage.contains("not JSON"))
            #expect(empty.status == 400)
            #expect(empty.errorCode == "malformed_json")
        }
    }

    @Test func aBodyOverTheLimitIsTooLarge() async throws {
        try await ServerHarness.run(maxProfileBodyBytes: 1024) { harness in
            let profiles = (0..<40).map { ServerHarness.profile(crmId: "003xx00000\($0)") }
            let large = try await harness.api.send(.POST, "/v1/profiles", json: profiles)
            let small = try await harness.api.send(.POST, "/v1/profiles", json: ServerHarness.profile(crmId: harness.emulator.seededContactIds[0]))
            #expect(large.status == 413)
            #expect(large.errorCode == "payload_too_large")
            #expect(large.errorMessage.contains("1024"))
            #expect(small.status == 202)
        }
    }

    @Test func profilesNeedAKey() async throws {
        try await ServerHarness.run { harness in
            let reply = try await harness.api.send(.POST, "/v1/profiles", json: ServerHarness.profile(crmId: "x"), authorization: .none)
            #expect(reply.status == 401)
        }
    }
}

@Suite("Over real sockets")
struct LiveServerTests {
    @Test func limitsHoldOverARealConnection() async throws {
        try await ServerHarness.run(maxProfileBodyBytes: 4096) { harness in
            // run
            let health = try await harness.api.send(.GET, "/health", authorization: .none)
            let profiles = (0..<200).map { ServerHarness.profile(crmId: "003xx00000\($0)") }
            let large = try await harness.api.send(.POST, "/v1/profiles", json: profiles)
            let ndjson = try await harness.api.send(
                .POST, "/v1/profiles", text: "{\"identityMap\": {\"crmID\": [{\"id\": \"a\"}]}}\n{\"identityMap\": {\"crmID\": [{\"id\": \"b\"}]}}\n",
                contentType: "application/x-ndjson; charset=utf-8"
            )

            // validate
            #expect(health.status == 200)
            #expect(large.status == 413)
            #expect(large.errorCode == "payload_too_large")
            #expect(ndjson.status == 202)
            #expect(ndjson.object["accepted"] as? Int == 2)
            #expect(harness.service.port > 0)
        }
    }
}
