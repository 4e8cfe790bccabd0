import EmulatorAdminClient
import Foundation
import SfdestRuntime
import Testing

/// One fault setting of the emulator, and how the service is tuned for the run.
struct FaultScenario: Sendable, CustomTestStringConvertible {
    let name: String
    let faults: [String: Double]
    var requestTimeout: Duration = .seconds(5)
    var testDescription: String { self.name }

    /// The fault keys the run sets: the scenario's and the base latency every run adds.
    var configured: Set<String> { Set(self.faults.keys).union(["latencyMs"]) }
}

/// Each fault alone and all together: every accepted change ends in Salesforce, exactly, and token
/// requests stay few (single-flight).
@Suite("End to end: the fault matrix")
struct FaultMatrixTests {
    static let scenarios: [FaultScenario] = [
        FaultScenario(name: "15% of calls answer 503", faults: ["serverUnavailableRate": 0.15]),
        FaultScenario(name: "5% of records UNABLE_TO_LOCK_ROW", faults: ["lockRowRate": 0.05]),
        FaultScenario(name: "tokens expire every half second", faults: ["tokenTtlSeconds": 0.5]),
        FaultScenario(name: "latency spikes beyond the client's timeout", faults: ["latencySpikeRate": 0.15, "latencySpikeMs": 1500], requestTimeout: .seconds(1)),
        FaultScenario(name: "10% of connections dropped", faults: ["dropConnectionRate": 0.1]),
        FaultScenario(
            name: "all together",
            faults: ["serverUnavailableRate": 0.15, "lockRowRate": 0.05, "tokenTtlSeconds": 0.5, "latencySpikeRate": 0.1, "latencySpikeMs": 1500, "dropConnectionRate": 0.1],
            requestTimeout: .seconds(1)
        ),
    ]

    @Test(arguments: Self.scenarios)
    func everyChangeLandsExactly(_ scenario: FaultScenario) async throws {
        // Small batches and a little latency: enough calls, over enough time, for every fault to strike.
        let configure: (inout SfdestRuntime.Settings) -> Void = {
            $0.salesforceRequestTimeout = scenario.requestTimeout
            $0.delivery.batchSize = 20
            $0.delivery.concurrentRequests = 2
        }
        try await EndToEnd.with(contacts: 600, configure: configure) { e2e in
            // setup
            let destination = try await e2e.configureDestination()
            let before = try await e2e.admin.stats()
            try await e2e.admin.setFaults(scenario.faults.merging(["latencyMs": 20]) { mine, _ in mine })
            let ids = e2e.emulator.seededContactIds
            let started = ContinuousClock.now

            // run: everyone, then a second round that changes half of them (a clean run makes
            // exactly 30 + 15 calls of 20 records)
            try await e2e.post(ids.map { xdmProfile(id: $0, lastName: "First \($0.suffix(5))", firstName: "A", segments: ["seg-gold": "realized"]) })
            // Generous: six scenarios share 2 cores with the rest of the suite.
            try await e2e.waitUntilDelivered(destination, timeout: .seconds(300))
            try await e2e.post(ids.enumerated().filter { $0.offset % 2 == 0 }.map {
                xdmProfile(id: $0.element, lastName: "Second \($0.element.suffix(5))", segments: ["seg-gold": "existing", "seg-a": "realized"], time: "2026-11-21T10:00:00Z")
            })
            // Generous: six scenarios share 2 cores with the rest of the suite.
            try await e2e.waitUntilDelivered(destination, timeout: .seconds(300))
            try await e2e.admin.setFaults(["serverUnavailableRate": 0, "lockRowRate": 0, "latencySpikeRate": 0, "dropConnectionRate": 0, "latencyMs": 0])

            // validate: the exact final state, field by field
            var mismatches: [String] = []
            for (index, id) in ids.enumerated() {
                let record = try #require(try await e2e.admin.record(id))
                let second = index % 2 == 0
                let expected: [String: String?] = [
                    "LastName": second ? "Second \(id.suffix(5))" : "First \(id.suffix(5))",
                    "FirstName": "A",
                    "crm_1_seg__c": second ? "existing" : "realized",
                    "crm_2_seg__c": second ? "seg-a:realized" : nil,
                ]
                for (field, value) in expected where record[field] as? String != value {
                    mismatches.append("\(id).\(field)")
                }
            }
            #expect(mismatches.isEmpty, "\(mismatches.count) mismatches under \(scenario.name): \(mismatches.prefix(5))")
            let totals = try await e2e.runTotals(destination)
            #expect(totals["identitiesFailed"] == 0)
            #expect(totals["profilesReceived"] == totals["identitiesActivated"]! + totals["identitiesUnchanged"]!)
            let after = try await e2e.admin.stats()
            // Per-record order under faults: no record was ever in two writes at once, retries and
            // timed-out requests included.
            #expect(after.overlappingWrites == before.overlappingWrites, "records written by two requests at once under \(scenario.name): \(after.overlappingRecords)")
            let seconds = Double((ContinuousClock.now - started).components.seconds) + 1
            let tokens = after.tokenRequests - before.tokenRequests
            let calls = after.apiCalls - before.apiCalls
            let ttl = scenario.faults["tokenTtlSeconds"]
            // The faults did strike: the emulator counted every configured kind, and they cost
            // calls beyond the 45 a clean run needs, or new tokens.
            var struck: [String] = []
            for key in scenario.configured.sorted() {
                let count = try #require(after.faultsStruck.struck(byFaultKey: key), "no fault counter for \(key)")
                    - (before.faultsStruck.struck(byFaultKey: key) ?? 0)
                #expect(count >= 1, "\(key) never struck under \(scenario.name): \(after.faultsStruck)")
                struck.append("\(key) \(count)")
            }
            if ttl != nil {
                #expect(tokens >= 2, "tokens never expired during the run")
            } else {
                #expect(calls > 45, "no fault struck: \(calls) calls")
            }
            // A cache and single-flight: a new token only once Salesforce refused the one in hand
            // (however many calls found it ended at once), or when the one issued never reached the
            // client (a token request that outlived the timeout). Counted by the emulator, so the
            // bound holds however slow the machine: a token per call, or one per refused call,
            // breaks it. Without expiry, the first token serves the whole run.
            let issued = after.tokensIssued - before.tokensIssued
            let refused = after.tokensRefused - before.tokensRefused
            let neverPresented = issued - (after.tokensPresented - before.tokensPresented)
            let expiredCalls = after.faultsStruck.sessionExpired - before.faultsStruck.sessionExpired
            let allowed = ttl == nil ? 2 : refused + neverPresented + 1
            #expect(tokens <= allowed, "\(tokens) token requests for \(calls) calls (at most \(allowed): \(refused) tokens refused, \(neverPresented) never presented); \(expiredCalls) calls found their session ended")
            print("fault matrix [\(scenario.name)]: 900 profiles, \(calls) API calls (45 without faults), \(tokens) token requests (\(after.tokensRefused - before.tokensRefused) tokens refused), struck: \(struck.joined(separator: ", ")), \(mismatches.count) mismatches, \(Int(seconds)) s")
        }
    }
}
