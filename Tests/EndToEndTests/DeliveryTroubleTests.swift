import Foundation
import SfdestRuntime
import Testing

@Suite("End to end: trouble on the Salesforce side")
struct DeliveryTroubleTests {
    @Test func aFieldTheOrgLostStopsTheDestinationLoudlyAndKeepsItsChanges() async throws {
        try await EndToEnd.with(contacts: 10) { e2e in
            // setup: the destination is enabled, then an admin deletes a Mapping ID field
            let destination = try await e2e.configureDestination()
            try await e2e.admin.deleteField(objectType: "Contact", name: "crm_1_seg__c")
            let ids = Array(e2e.emulator.seededContactIds.prefix(5))

            // run
            try await e2e.post(ids.map { xdmProfile(id: $0, lastName: "Kept \($0.suffix(3))") })
            var shown: [String: Any] = [:]
            for _ in 0..<200 {
                shown = try await e2e.api.expect(200, .GET, "/v1/destinations/\(destination)").object
                // The status and the saved error are read one after the other: wait for both.
                if (shown["delivery"] as? [String: Any])?["status"] as? String == "failed", shown["deliveryError"] is String { break }
                try await Task.sleep(for: .milliseconds(50))
            }

            // validate: the destination says which field, and nothing was dropped
            let delivery = shown["delivery"] as? [String: Any] ?? [:]
            #expect(delivery["status"] as? String == "failed")
            #expect((shown["deliveryError"] as? String ?? "").contains("crm_1_seg__c"), "\(shown)")
            #expect((delivery["reason"] as? String ?? "").contains("INVALID_FIELD"))
            let backlog = shown["backlog"] as? [String: Int] ?? [:]
            #expect((backlog["pending"] ?? 0) + (backlog["retrying"] ?? 0) + (backlog["inFlight"] ?? 0) == 5)
            let untouched = try #require(try await e2e.admin.record(ids[0]), "the record is gone from the org")
            #expect(untouched["LastName"] as? String != "Kept \(ids[0].suffix(3))")

            // the fix: the field is created again and the destination enabled again
            try await e2e.admin.addLongTextAreaFields(["crm_1_seg__c"], to: ["Contact"])
            try await e2e.api.expect(200, .POST, "/v1/destinations/\(destination)/enable")
            try await e2e.waitUntilDelivered(destination)
            for id in ids {
                let record = try #require(try await e2e.admin.record(id))
                #expect(record["LastName"] as? String == "Kept \(id.suffix(3))")
                #expect(record["crm_1_seg__c"] as? String == "realized")
            }
            let after = try await e2e.api.expect(200, .GET, "/v1/destinations/\(destination)").object
            #expect(after["deliveryError"] == nil || after["deliveryError"] is NSNull)
        }
    }

    @Test func transientFailuresAreRetriedUntilEveryRecordLands() async throws {
        try await EndToEnd.with(contacts: 400) { e2e in
            let destination = try await e2e.configureDestination()
            try await e2e.admin.setFaults(["lockRowRate": 0.3, "serverUnavailableRate": 0.3])
            let ids = e2e.emulator.seededContactIds
            try await e2e.post(ids.map { xdmProfile(id: $0, lastName: "Persistent \($0.suffix(4))") })
            try await e2e.waitUntilDelivered(destination, timeout: .seconds(120))
            try await e2e.admin.setFaults(["lockRowRate": 0, "serverUnavailableRate": 0])
            for id in ids {
                let record = try #require(try await e2e.admin.record(id), "\(id) is gone from the org")
                #expect(record["LastName"] as? String == "Persistent \(id.suffix(4))")
            }
            let totals = try await e2e.runTotals(destination)
            #expect(totals["identitiesActivated"] == 400)
            #expect(totals["identitiesFailed"] == 0)
        }
    }
}
