import Foundation
import SfdestRuntime
import Testing

@Suite("Alerts end to end: rules, webhooks, the contract")
struct AlertsEndToEndTests {
    static let secret = "whsec-0123456789abcdef0123456789abcdef"

    @Test func skipRateOpensAboveTheThresholdAndResolvesWhenTheThresholdIsRaised() async throws {
        try await WebhookReceiver.with { receiver, url in
            try await AlertsE2E.with { e2e in
                let destination = try await e2e.configureDestination()
                try await e2e.subscribe(url, secret: Self.secret, destinationId: destination)
                // 2 of 10 excluded (Lead Ids sent to a Contact destination) is 20 %: below a 50 % threshold.
                try await e2e.api.expect(200, .PUT, "/v1/destinations/\(destination)/alerts", json: ["skipRateThreshold": 0.5])
                let contacts = Array(e2e.emulator.seededContactIds.prefix(8)).map { profile(id: $0) }
                let leads = Array(e2e.emulator.seededLeadIds.prefix(2)).map { profile(id: $0) }
                try await e2e.post(contacts + leads)
                try await e2e.api.waitUntilDelivered(destination, timeout: .seconds(30))
                let lowered = Date()
                try await e2e.api.expect(200, .PUT, "/v1/destinations/\(destination)/alerts", json: ["skipRateThreshold": 0.1])

                let open = try await e2e.waitForAlert("activation_skip_rate_exceeded", state: "open", destinationId: destination)
                let openedAt = try #require((open["openedAt"] as? String).flatMap { try? Date($0, strategy: .iso8601) })
                #expect(openedAt >= lowered.addingTimeInterval(-1), "the alert opened while the rate was below the threshold")
                #expect((open["message"] as? String ?? "").contains("2 of 10"))
                let details = open["details"] as? [String: Any] ?? [:]
                #expect(details["excluded"] as? Int == 2)
                #expect(details["received"] as? Int == 10)
                let alertId = try #require(open["id"] as? String)

                let opened = try await receiver.waitFor("the opened event") { $0.json["state"] as? String == "open" }
                #expect(opened.isSigned(with: Self.secret))
                #expect(opened.eventId?.hasPrefix("evt_") == true)
                #expect(opened.contentType == "application/json")
                #expect(opened.json["id"] as? String == alertId)
                #expect(opened.json["rule"] as? String == "activation_skip_rate_exceeded")
                #expect(opened.json["destinationId"] as? String == destination)
                #expect(opened.json["resolvedAt"] is NSNull)

                // Raising the threshold above 20 % resolves it: a resolved event for the same alert.
                try await e2e.api.expect(200, .PUT, "/v1/destinations/\(destination)/alerts", json: ["skipRateThreshold": 0.25])
                let resolved = try await e2e.waitForAlert("activation_skip_rate_exceeded", state: "resolved", destinationId: destination)
                #expect(resolved["id"] as? String == alertId)
                #expect(resolved["resolvedAt"] is String)
                let event = try await receiver.waitFor("the resolved event") { $0.json["state"] as? String == "resolved" }
                #expect(event.isSigned(with: Self.secret))
                #expect(event.json["id"] as? String == alertId)
                #expect(event.eventId != opened.eventId)
                #expect((try await e2e.api.expect(200, .GET, "/v1/alerts?state=open").json as? [Any])?.isEmpty == true)
                // One alert per rule and destination: exactly one opened and one resolved event.
                #expect(receiver.received.count == 2)
                #expect(!e2e.logs.text.isEmpty, "nothing logged: the check below would pass on nothing")
                #expect(!e2e.logs.text.contains(Self.secret))
            }
        }
    }

    @Test func aLostFieldOpensFlowRunFailureAndTheFixResolvesIt() async throws {
        try await WebhookReceiver.with { receiver, url in
            try await AlertsE2E.with(contacts: 10) { e2e in
                let destination = try await e2e.configureDestination()
                try await e2e.subscribe(url, secret: Self.secret)
                try await e2e.admin.deleteField(objectType: "Contact", name: "crm_1_seg__c")
                try await e2e.post(e2e.emulator.seededContactIds.prefix(5).map { profile(id: $0) })

                let open = try await e2e.waitForAlert("flow_run_failure", state: "open", destinationId: destination)
                let message = open["message"] as? String ?? ""
                #expect(message.contains("INVALID_FIELD") || message.contains("crm_1_seg__c"), "\(message)")
                let opened = try await receiver.waitFor("the failure event") { $0.json["rule"] as? String == "flow_run_failure" }
                #expect(opened.isSigned(with: Self.secret))
                #expect(opened.json["state"] as? String == "open")

                // The fix: the field is back and the destination enabled again.
                try await e2e.admin.addLongTextAreaFields(["crm_1_seg__c"], to: ["Contact"])
                try await e2e.api.expect(200, .POST, "/v1/destinations/\(destination)/enable")
                let resolved = try await e2e.waitForAlert("flow_run_failure", state: "resolved", destinationId: destination)
                #expect(resolved["id"] as? String == open["id"] as? String)
                let event = try await receiver.waitFor("the resolved failure event") {
                    $0.json["rule"] as? String == "flow_run_failure" && $0.json["state"] as? String == "resolved"
                }
                #expect(event.isSigned(with: Self.secret))
                try await e2e.api.waitUntilDelivered(destination, timeout: .seconds(30))
                #expect(try await e2e.admin.record(e2e.emulator.seededContactIds[0])?["crm_1_seg__c"] as? String == "realized")
            }
        }
    }

    @Test func changesWaitingPastTheDelayThresholdOpenFlowRunDelayUntilTheyLand() async throws {
        try await AlertsE2E.with(contacts: 20, configure: { $0.delivery.throttlePause = 0.5; $0.delivery.apiBudgetRecheck = 0.3 }) { e2e in
            let destination = try await e2e.configureDestination()
            try await e2e.api.expect(200, .PUT, "/v1/destinations/\(destination)/alerts", json: ["delayThresholdSeconds": 1])
            // The org's API allowance is used up: changes wait.
            let stats = try await e2e.admin.stats()
            try await e2e.admin.setFaults(["apiLimit": Double(stats.apiUsed + 1000), "apiUsed": Double(stats.apiUsed + 1000)])
            try await e2e.post(e2e.emulator.seededContactIds.map { profile(id: $0, lastName: "Delayed") })

            let open = try await e2e.waitForAlert("flow_run_delay", state: "open", destinationId: destination)
            #expect((open["message"] as? String ?? "").contains("longer than the threshold of 1 s"))
            #expect(((open["details"] as? [String: Any])?["waitedSeconds"] as? Int ?? 0) >= 1)
            // A pause that resumes by itself is no failure.
            let openRules = try await e2e.api.expect(200, .GET, "/v1/alerts?state=open&destinationId=\(destination)").array.compactMap { $0["rule"] as? String }
            #expect(!openRules.contains("flow_run_failure"))

            try await e2e.admin.setFaults(["apiUsed": 0])
            try await e2e.api.waitUntilDelivered(destination, timeout: .seconds(30))
            let resolved = try await e2e.waitForAlert("flow_run_delay", state: "resolved", destinationId: destination)
            #expect(resolved["id"] as? String == open["id"] as? String)
            #expect(try await e2e.admin.record(e2e.emulator.seededContactIds[0])?["LastName"] as? String == "Delayed")
        }
    }

    @Test func aReceiverThatFailsTwiceGetsTheEventOnTheThirdTry() async throws {
        try await WebhookReceiver.with(failFirst: 2) { receiver, url in
            try await AlertsE2E.with { e2e in
                let destination = try await e2e.configureDestination()
                try await e2e.subscribe(url, secret: Self.secret)
                try await e2e.post(e2e.emulator.seededLeadIds.prefix(3).map { profile(id: $0) })
                _ = try await e2e.waitForAlert("activation_skip_rate_exceeded", state: "open", destinationId: destination)
                let deadline = ContinuousClock.now + .seconds(30)
                while receiver.received.count < 3, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(25)) }
                let attempts = receiver.received
                try #require(attempts.count >= 3, "the receiver got \(attempts.count) attempts")
                // The same event, byte for byte and signed, each time; the third answered 204.
                #expect(Set(attempts.prefix(3).map(\.eventId)).count == 1)
                #expect(Set(attempts.prefix(3).map(\.body)).count == 1)
                #expect(attempts.prefix(3).allSatisfy { $0.isSigned(with: Self.secret) })
                #expect(attempts[0].json["state"] as? String == "open")
                // Delivered on the third try: no fourth attempt of that event follows.
                try await Task.sleep(for: .milliseconds(500))
                #expect(receiver.received.filter { $0.eventId == attempts[0].eventId }.count == 3)
            }
        }
    }

    @Test func runSuccessIsOptionalAndFiresOnceARunCompletes() async throws {
        try await AlertsE2E.with { e2e in
            let destination = try await e2e.configureDestination()
            try await e2e.api.expect(200, .PUT, "/v1/destinations/\(destination)/alerts", json: ["runSuccess": true])
            try await e2e.post(e2e.emulator.seededContactIds.prefix(5).map { profile(id: $0) })
            try await e2e.api.waitUntilDelivered(destination, timeout: .seconds(30))
            let success = try await e2e.waitForAlert("flow_run_success", state: "open", destinationId: destination)
            #expect((success["message"] as? String ?? "").contains("5 activated"))
        }
    }
}
