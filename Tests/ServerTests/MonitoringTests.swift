import Foundation
import SfdestClient
import Testing

@Suite("Monitoring")
struct MonitoringTests {
    @Test func runsFailuresSegmentsAndRecordsHaveTheDocumentedShapes() async throws {
        // A partial batch waits a linger longer than the test for company: what the test queues
        // stays pending while it looks, however loaded the machine (a short drain at the end,
        // since the sender sleeps through it).
        try await ServerHarness.run(configure: { settings in
            settings.delivery.linger = .seconds(300)
            settings.delivery.drainTimeout = .milliseconds(50)
        }) { harness in
            // setup: an enabled destination; two profiles to send, one excluded for its malformed Id
            let id = try await harness.createEnabledDestination()
            let contacts = harness.emulator.seededContactIds
            let posted = try await harness.api.send(.POST, "/v1/profiles", json: [
                ServerHarness.profile(crmId: contacts[0], lastName: "Lovelace"),
                ServerHarness.profile(crmId: contacts[1], lastName: "Hopper"),
                ServerHarness.profile(crmId: "003notAnId"),
            ])
            #expect(posted.object["accepted"] as? Int == 3)

            // run
            let runs = try await harness.api.send(.GET, "/v1/destinations/\(id)/runs")
            let failures = try await harness.api.send(.GET, "/v1/destinations/\(id)/failures")
            let segments = try await harness.api.send(.GET, "/v1/destinations/\(id)/segments")
            let record = try await harness.api.send(.GET, "/v1/destinations/\(id)/records/\(contacts[0].prefix(15))")
            let retry = try await harness.api.send(.POST, "/v1/destinations/\(id)/failures/retry")
            let retryCodes = try await harness.api.send(.POST, "/v1/destinations/\(id)/failures/retry", json: ["codes": ["INVALID_FIELD"]])
            let destination = try await harness.api.send(.GET, "/v1/destinations/\(id)")

            // validate
            #expect(runs.status == 200)
            let run = try #require(runs.array.first)
            #expect(run["start"] as? String != nil && run["end"] as? String != nil)
            #expect(run["profilesReceived"] as? Int == 3)
            #expect(run["identitiesExcluded"] as? Int == 1)
            #expect(run["identitiesActivated"] as? Int == 0)
            #expect(run["identitiesUnchanged"] as? Int == 0)
            #expect(run["identitiesFailed"] as? Int == 0)
            #expect(run["status"] as? String == "processing")
            #expect(run["activationRate"] as? Double == 0)

            let groups = try #require(failures.object["groups"] as? [[String: Any]])
            #expect(groups.count == 1)
            #expect(groups.first?["kind"] as? String == "excluded")
            #expect(groups.first?["code"] as? String == "MALFORMED_ID")
            #expect(groups.first?["count"] as? Int == 1)
            #expect(groups.first?["message"] as? String != nil)
            #expect(groups.first?["fields"] as? [String] != nil)
            #expect(groups.first?["sampleRecordIds"] as? [String] == ["003notAnId"])

            let segment = try #require(segments.array.first)
            #expect(segment["segmentId"] as? String == "seg-gold")
            #expect(segment["mappingId"] as? String == "crm_1_seg__c")
            #expect(segment["startDate"] is NSNull)
            #expect(segment["endDate"] is NSNull)
            #expect((segment["profiles"] as? [String: Int])?["realized"] == 3)
            #expect(segment["lastDelivery"] is NSNull)

            #expect(record.status == 200)
            #expect(record.object["recordId"] as? String == contacts[0])
            #expect((record.object["acknowledged"] as? [String: Any])?.isEmpty == true)
            let pending = try #require(record.object["pending"] as? [String: Any])
            #expect(pending["LastName"] as? String == "Lovelace")
            #expect(pending["crm_1_seg__c"] as? String == "realized")
            #expect(record.object["inFlight"] is NSNull)
            #expect(record.object["attempts"] as? Int == 0)
            #expect(record.object["lastError"] is NSNull)

            #expect(retry.object["requeued"] as? Int == 0)
            #expect(retryCodes.object["requeued"] as? Int == 0)
            let backlog = try #require(destination.object["backlog"] as? [String: Int])
            #expect(backlog["pending"] == 2)
        }
    }

    @Test func recordIdsAreCheckedAndUnknownRecordsAreNotFound() async throws {
        try await ServerHarness.run { harness in
            let id = try await harness.createDestination()
            let malformed = try await harness.api.send(.GET, "/v1/destinations/\(id)/records/not-an-id")
            let checksum = try await harness.api.send(.GET, "/v1/destinations/\(id)/records/003000000000001AAZ")
            let unknown = try await harness.api.send(.GET, "/v1/destinations/\(id)/records/\(harness.emulator.seededContactIds[2])")
            let noDestination = try await harness.api.send(.GET, "/v1/destinations/dest_missing/runs")
            #expect(malformed.status == 400)
            #expect(malformed.errorCode == "invalid_record_id")
            #expect(checksum.status == 400)
            #expect(unknown.status == 404)
            #expect(unknown.errorCode == "record_not_found")
            #expect(noDestination.status == 404)
            #expect(noDestination.errorCode == "destination_not_found")
            let wrongRetryBody = try await harness.api.send(.POST, "/v1/destinations/\(id)/failures/retry", json: ["codes": "INVALID_FIELD"])
            #expect(wrongRetryBody.status == 422)
            #expect(wrongRetryBody.detailFields == ["codes"])
        }
    }
}
