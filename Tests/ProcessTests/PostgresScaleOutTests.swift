import EmulatorAdminClient
import Foundation
import PostgresStore
import SfdestClient
import SfdestTestSupport
import Testing

/// Several `sfdest serve` processes on one PostgreSQL database: one `api`, three `worker`s. One
/// worker is killed with SIGKILL while it sends and another stopped with SIGTERM; every record
/// ends with the last accepted value of every field, and no record was ever in two requests at once.
/// In the crash tests' serialized suite: four processes and PostgreSQL beside the other process
/// tests starved the 2 cores.
extension CrashSafetyTests {
    static let scaleOutMasterKey = "q8yJ0m7sS2tq1gk3m3D5Xk0a7Yb1y0VnR9oZ0Qm4l2E="

    @Test(.enabled(if: PostgresTestDatabase.enabled, "needs a PostgreSQL server (SFDEST_TEST_POSTGRES_URL)"), .timeLimit(.minutes(6)))
    func workersShareTheQueueAndLoseNothingWhenOneIsKilledAndOneStopped() async throws {
        try await PostgresTestDatabase.with { url in
            // Short leases: the killed worker's claims are taken over after 3 s (twice the timeout).
            let environment = ["SFDEST_MASTER_KEY": Self.scaleOutMasterKey, "SFDEST_DELIVERY_LEASE_SECONDS": "2", "SFDEST_SALESFORCE_TIMEOUT_SECONDS": "1.5"]
            // 500 contacts in bodies of 50 profiles, sized when PostgreSQL ingest wrote row by row (a
            // body of 250 took more than the client's 30 s, 1,500 contacts more than 300 s, beside
            // the whole suite on 2 cores).
            try await ProcessHarness.with(name: "scale-out", contacts: 500, environment: environment, deadline: .seconds(300)) { harness in
                let began = ContinuousClock.now
                let database = ["--postgres", url.commandLineText]
                harness.serveArguments = database + ["--role", "api"]
                try await harness.start()
                var workers: [ServeProcess] = []
                for number in 1...3 {
                    workers.append(try await harness.launch(number, arguments: database + ["--role", "worker"]))
                }
                // A worker's port answers its probes only.
                let probe = ContractClient(baseURL: "http://127.0.0.1:\(workers[0].port)", apiKey: ProcessHarness.apiKey)
                try await probe.expect(200, .GET, "/health")
                let refused = try await probe.send(.GET, "/v1/destinations")
                #expect(refused.status == 404 && refused.errorMessage.contains("worker"), "\(refused.text)")

                let ids = harness.emulator.seededContactIds
                try await harness.admin.setFaults(["latencyMs": 40])
                let destination = try await harness.configureDestination()
                var expected = ExpectedOrg()
                var figures = CrashSafetyTests.Figures()
                for round in 0..<ProfileRounds.times.count {
                    try await CrashSafetyTests.stream(
                        ProfileRounds.bodies(round: round, ids: ids, linesPerBody: 50), harness: harness, expected: &expected, figures: &figures, kill: nil
                    )
                    switch round {
                    case 1:
                        // SIGKILL to a worker with requests to Salesforce in flight.
                        let kill = try await Self.whileSending(destination, harness: harness) {
                            try await ProcessHarness.kill(workers[0], admin: harness.admin)
                        }
                        #expect(kill.bySIGKILL, "worker 1 did not end by SIGKILL")
                        figures.observe(kill, "worker 1 mid-delivery")
                    case 3:
                        // SIGTERM to another: it finishes or releases what it holds and exits 0.
                        let exit = try await Self.whileSending(destination, harness: harness) {
                            workers[1].terminate()
                            return await workers[1].waitForExit(timeout: .seconds(15))
                        }
                        #expect(exit.map { !$0.signalled && $0.status == 0 } == true, "worker 2 after SIGTERM: \(String(describing: exit)); \(workers[1].stderrTail())")
                    default:
                        break
                    }
                }
                try await harness.waitUntilDelivered(destination, timeout: .seconds(120))

                let (checked, mismatches) = try await harness.mismatches(against: expected)
                #expect(checked == ids.count)
                #expect(mismatches.isEmpty, "\(mismatches.count) fields differ from the last accepted value, e.g. \(mismatches.prefix(12).joined(separator: "; "))")
                let stats = try await harness.admin.stats()
                #expect(stats.overlappingWrites == 0, "records written by two requests at once: \(stats.overlappingRecords)")
                // The connection's check, then one session shared by the four processes (and the
                // worker started after the kill's takeover).
                #expect(stats.tokenRequests == 2, "token requests: \(stats.tokenRequests)")
                #expect(figures.killsWithRequestsInFlight == 1, "the SIGKILL caught no request to Salesforce in flight: \(figures.kills)")
                // The survivor still answers its probes after the others ended.
                let survivor = ContractClient(baseURL: "http://127.0.0.1:\(workers[2].port)", apiKey: ProcessHarness.apiKey)
                try await survivor.expect(200, .GET, "/health")
                print("""
                    ProcessTests scale-out: 1 api + 3 workers on PostgreSQL, \(expected.profilesAccepted) profiles in \(figures.bodiesPosted) bodies, \
                    1 SIGKILL (\(figures.kills.joined(separator: "; "))), 1 SIGTERM, \(checked) records checked, \(mismatches.count) mismatches, \
                    \(stats.overlappingWrites) overlapping writes, \(try await harness.patchCalls()) PATCH calls, \(ContinuousClock.now - began)
                    """)
            }
        }
    }

    /// Runs `action` once records are in flight and the emulator holds a call (it holds every call
    /// meanwhile), then lets the held calls go.
    static func whileSending<T>(_ destinationId: String, harness: ProcessHarness, _ action: () async throws -> T) async throws -> T {
        try await harness.admin.setFaults(["holdRestCalls": true])
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let state = try await harness.deliveryState(destinationId)
            if state.inFlight > 0, try await harness.admin.stats().restCallsInFlight > 0 { break }
            if state.settled { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        let result = try await action()
        try await harness.admin.setFaults(["holdRestCalls": false])
        return result
    }
}
