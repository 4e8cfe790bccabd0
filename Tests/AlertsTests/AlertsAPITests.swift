import Foundation
import SfdestRuntime
import Testing

@Suite("Alerts API: settings and subscriptions")
struct AlertsAPITests {
    @Test func settingsHaveDefaultsAndEveryProblemIsListed() async throws {
        try await AlertsE2E.with { e2e in
            let destination = try await e2e.configureDestination()
            let defaults = try await e2e.api.expect(200, .GET, "/v1/destinations/\(destination)/alerts").object
            #expect(defaults["skipRateThreshold"] as? Double == 0.01)
            #expect(defaults["delayThresholdSeconds"] as? Int == 900)
            #expect(defaults["runStart"] as? Bool == false)
            #expect(defaults["runSuccess"] as? Bool == false)

            let invalid = try await e2e.api.expect(422, .PUT, "/v1/destinations/\(destination)/alerts", json: [
                "skipRateThreshold": 1.5, "delayThresholdSeconds": 0, "skipRateMinimumReceived": -3,
            ]).object
            let error = invalid["error"] as? [String: Any] ?? [:]
            #expect(error["code"] as? String == "validation_failed")
            let fields = Set((error["details"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String })
            #expect(fields == ["skipRateThreshold", "delayThresholdSeconds", "skipRateMinimumReceived"])

            let wrongTypes = try await e2e.api.expect(422, .PUT, "/v1/destinations/\(destination)/alerts", json: [
                "runStart": "yes", "delayThresholdSeconds": "soon",
            ]).object
            let typeFields = Set(((wrongTypes["error"] as? [String: Any])?["details"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String })
            #expect(typeFields == ["runStart", "delayThresholdSeconds"])

            let saved = try await e2e.api.expect(200, .PUT, "/v1/destinations/\(destination)/alerts", json: [
                "skipRateThreshold": 0.05, "delayThresholdSeconds": 60, "runStart": true,
            ]).object
            #expect(saved["skipRateThreshold"] as? Double == 0.05)
            let shown = try await e2e.api.expect(200, .GET, "/v1/destinations/\(destination)/alerts").object
            #expect(shown["delayThresholdSeconds"] as? Int == 60)
            #expect(shown["runStart"] as? Bool == true)
            #expect(shown["runSuccess"] as? Bool == false)
            try await e2e.api.expect(404, .GET, "/v1/destinations/dest_missing/alerts")
        }
    }

    @Test func subscriptionsAreValidatedAndTheirSecretsNeverShown() async throws {
        try await AlertsE2E.with { e2e in
            let secret = "never-shown-\(UUID().uuidString)"
            let refused = try await e2e.api.expect(422, .POST, "/v1/alerts/subscriptions", json: [
                "url": "http://hooks.example.com/sfdest", "secret": "short", "destinationId": "dest_missing",
            ]).object
            let fields = ((refused["error"] as? [String: Any])?["details"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
            #expect(Set(fields) == ["url", "secret", "destinationId"])
            try await e2e.api.expect(422, .POST, "/v1/alerts/subscriptions", json: ["url": "ftp://127.0.0.1/x", "secret": secret])

            let created = try await e2e.api.expect(201, .POST, "/v1/alerts/subscriptions", json: ["url": "https://hooks.example.com/sfdest", "secret": secret])
            let loopback = try await e2e.api.expect(201, .POST, "/v1/alerts/subscriptions", json: ["url": "http://127.0.0.1:9/hook", "secret": secret])
            let id = try #require(created.object["id"] as? String)
            // Only scheme and host are shown: a webhook URL's path often carries its token.
            #expect(created.object["url"] as? String == "https://hooks.example.com")
            let listed = try await e2e.api.expect(200, .GET, "/v1/alerts/subscriptions")
            #expect(listed.array.map { $0["id"] as? String } == [id, loopback.object["id"] as? String])
            #expect(listed.array.map { $0["url"] as? String } == ["https://hooks.example.com", "http://127.0.0.1:9"])
            for answer in [created, loopback, listed] {
                let text = String(decoding: try JSONSerialization.data(withJSONObject: answer.json ?? [:]), as: UTF8.self)
                #expect(!text.contains(secret))
                #expect(!text.contains("secret"))
                #expect(!text.contains("sfdest"), "a webhook URL's path is shown: \(text)")
            }
            // Sealed at rest, never logged.
            for file in try FileManager.default.contentsOfDirectory(atPath: e2e.dataDirectory) {
                let data = try Data(contentsOf: URL(fileURLWithPath: e2e.dataDirectory).appendingPathComponent(file))
                #expect(data.range(of: Data(secret.utf8)) == nil, "\(file) holds the secret in the clear")
                #expect(data.range(of: Data("hooks.example.com/sfdest".utf8)) == nil, "\(file) holds the webhook URL in the clear")
            }
            #expect(!e2e.logs.text.isEmpty, "nothing logged: the check below would pass on nothing")
            #expect(!e2e.logs.text.contains(secret))

            try await e2e.api.expect(204, .DELETE, "/v1/alerts/subscriptions/\(id)")
            try await e2e.api.expect(404, .DELETE, "/v1/alerts/subscriptions/\(id)")
            #expect(try await e2e.api.expect(200, .GET, "/v1/alerts/subscriptions").array.count == 1)
            try await e2e.api.expect(400, .GET, "/v1/alerts?state=sideways")
            #expect((try await e2e.api.expect(200, .GET, "/v1/alerts").json as? [Any])?.isEmpty == true)
        }
    }
}
