import EmulatorAdminClient
import Foundation
import SfdestRuntime
import Testing

/// A request slower than its claim's lease keeps its records: the sender renews the lease while
/// the request is in flight, so no other sender takes them and sends them a second time.
@Suite("End to end: leases renewed while a request is in flight")
struct LeaseRenewalTests {
    @Test func aRequestOutlivingItsLeaseKeepsItsRecords() async throws {
        // Leases of 5 s and requests of 11 s: without renewal, a sender free again would take the
        // other one's records once their lease ended and write them again beside it. Renewals
        // come every 1.7 s, so one may be late by 3 s (a loaded machine) and still hold.
        let configure: (inout SfdestRuntime.Settings) -> Void = {
            $0.salesforceRequestTimeout = .seconds(20)
            $0.delivery.lease = 5
            $0.delivery.ambiguousSettle = 0.2
            $0.delivery.batchSize = 20
            $0.delivery.concurrentRequests = 2
        }
        try await EndToEnd.with(contacts: 60, configure: configure) { e2e in
            let destination = try await e2e.configureDestination()
            let ids = e2e.emulator.seededContactIds
            let before = try await e2e.admin.stats()
            try await e2e.admin.setFaults(["latencyMs": 11_000])
            try await e2e.post(ids.map { xdmProfile(id: $0, lastName: "Slow \($0.suffix(4))") })
            try await e2e.waitUntilDelivered(destination, timeout: .seconds(120))
            try await e2e.admin.setFaults(["latencyMs": 0])

            let after = try await e2e.admin.stats()
            #expect(after.overlappingWrites == before.overlappingWrites, "records written by two requests at once: \(after.overlappingRecords)")
            let writes = (after.callsByEndpoint["PATCH /composite/sobjects"] ?? 0) - (before.callsByEndpoint["PATCH /composite/sobjects"] ?? 0)
            #expect(writes == 3, "60 records in batches of 20 are 3 writes, each sent once: \(writes)")
            for id in ids {
                let record = try #require(try await e2e.admin.record(id))
                #expect(record["LastName"] as? String == "Slow \(id.suffix(4))")
            }
            let metrics = try await PrometheusText.scrape(e2e.api.baseURL, apiKey: e2e.api.apiKey)
            #expect(metrics.value("sfdest_delivery_outcomes_total", ["outcome": "acknowledged"]) == 60)
            #expect(metrics.value("sfdest_delivery_answers_fenced_total") == nil, "no answer was fenced")
        }
    }
}
