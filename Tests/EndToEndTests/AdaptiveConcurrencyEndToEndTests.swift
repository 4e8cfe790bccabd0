import EmulatorAdminClient
import Foundation
import SfdestRuntime
import Testing

/// The connection's requests in flight adapt to how the org answers: up while a slow org answers
/// cleanly, down when it pushes back; never more calls than the records need, every record exact.
@Suite("End to end: adaptive requests in flight")
struct AdaptiveConcurrencyEndToEndTests {
    static func concurrency(_ e2e: EndToEnd, _ destination: String) async throws -> (limit: Int, inFlight: Int) {
        let shown = try await e2e.api.expect(200, .GET, "/v1/destinations/\(destination)").object
        let concurrency = (shown["delivery"] as? [String: Any])?["concurrency"] as? [String: Int] ?? [:]
        return (concurrency["limit"] ?? -1, concurrency["inFlight"] ?? -1)
    }

    @Test func aSlowOrgThatAnswersCleanlyGetsMoreRequestsInFlightAndNoMoreCalls() async throws {
        try await EndToEnd.with(contacts: 1_000, configure: { $0.delivery.batchSize = 20; $0.delivery.concurrentRequests = 2 }) { e2e in
            let destination = try await e2e.configureDestination()
            #expect(try await Self.concurrency(e2e, destination).limit == 2, "it starts from the setting")
            try await e2e.admin.setFaults(["latencyMs": 100])
            let before = try await e2e.admin.stats().callsByEndpoint["PATCH /composite/sobjects"] ?? 0
            try await e2e.post(e2e.emulator.seededContactIds.map { xdmProfile(id: $0, lastName: "Adaptive") })
            try await e2e.waitUntilDelivered(destination)
            let calls = (try await e2e.admin.stats().callsByEndpoint["PATCH /composite/sobjects"] ?? 0) - before
            #expect(calls == 50, "1,000 records in batches of 20 need 50 calls, made \(calls)")
            let raised = try await Self.concurrency(e2e, destination)
            #expect(raised.limit > 4, "the limit stayed at \(raised.limit) against a slow org answering cleanly")
            #expect(raised.inFlight == 0)
            for id in e2e.emulator.seededContactIds.prefix(50) {
                #expect(try await e2e.admin.record(id)?["LastName"] as? String == "Adaptive")
            }
            // The whole scrape (`text` is its first 2,000 bytes only).
            let metrics = String(decoding: try await e2e.api.expect(200, .GET, "/metrics").bytes, as: UTF8.self)
            #expect(metrics.contains("sfdest_delivery_concurrency_limit{connection="), "\(metrics.prefix(300))")

            // The org pushes back (lock errors on half the records): the limit comes down, and
            // every change still lands once the org calms down.
            try await e2e.admin.setFaults(["latencyMs": 100, "lockRowRate": 0.5])
            try await e2e.post(e2e.emulator.seededContactIds.map { xdmProfile(id: $0, lastName: "Contended") })
            let deadline = ContinuousClock.now + .seconds(60)
            var lowered = raised.limit
            while ContinuousClock.now < deadline {
                lowered = try await Self.concurrency(e2e, destination).limit
                if lowered < raised.limit { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(lowered < raised.limit, "the limit stayed at \(lowered) under lock errors")
            try await e2e.admin.setFaults(["latencyMs": 0, "lockRowRate": 0])
            try await e2e.waitUntilDelivered(destination, timeout: .seconds(120))
            for id in e2e.emulator.seededContactIds.prefix(50) {
                #expect(try await e2e.admin.record(id)?["LastName"] as? String == "Contended")
            }
        }
    }
}
