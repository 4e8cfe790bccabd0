import EmulatorAdminClient
import Foundation
import PostgresStore
import SfdestClient
import SfdestTestSupport
import Testing

/// Workers on PostgreSQL: woken by the api process's signals rather than a poll, running the
/// backfills the api process starts, and fenced when paused past their lease. In the crash tests'
/// serialized suite, as the scale-out test is.
extension CrashSafetyTests {
    @Test(.enabled(if: PostgresTestDatabase.enabled, "needs a PostgreSQL server (SFDEST_TEST_POSTGRES_URL)"), .timeLimit(.minutes(4)))
    func aWorkerRunsTheBackfillTheAPIStartsAndIsWokenBySignalsNotItsPoll() async throws {
        try await PostgresTestDatabase.with { url in
            // The worker looks for due work every 10 minutes on its own: anything sooner was a signal.
            let environment = ["SFDEST_MASTER_KEY": Self.scaleOutMasterKey, "SFDEST_DELIVERY_POLL_MS": "600000"]
            try await ProcessHarness.with(name: "pg-signals", contacts: 120, environment: environment, deadline: .seconds(200)) { harness in
                let database = ["--postgres", url.commandLineText]
                harness.serveArguments = database + ["--role", "api"]
                let api = try await harness.start()
                let worker = try await harness.launch(1, arguments: database + ["--role", "worker"])
                let ids = harness.emulator.seededContactIds
                var expected = ExpectedOrg()
                var figures = CrashSafetyTests.Figures()

                // Stored before any destination exists: only the backfill at enable sends them.
                try await CrashSafetyTests.stream(
                    ProfileRounds.bodies(round: 0, ids: ids, linesPerBody: 40), harness: harness, expected: &expected, figures: &figures, kill: nil
                )
                let destination = try await harness.configureDestination()
                try await harness.waitUntilDelivered(destination, timeout: .seconds(60))
                let backfilled = try await harness.mismatches(against: expected)
                #expect(backfilled.checked == ids.count && backfilled.mismatches.isEmpty, "after the backfill: \(backfilled.mismatches.prefix(8))")
                let apiLog = try String(contentsOfFile: api.stderrPath, encoding: .utf8)
                let workerLog = try String(contentsOfFile: worker.stderrPath, encoding: .utf8)
                #expect(!apiLog.contains("running a backfill"), "the api process ran the backfill")
                #expect(workerLog.contains("running a backfill"), "the worker did not log running the backfill")

                // Changes committed by the api process reach the idle worker at once.
                for round in 1...2 {
                    let posted = ContinuousClock.now
                    try await CrashSafetyTests.stream(
                        ProfileRounds.bodies(round: round, ids: ids, linesPerBody: 40), harness: harness, expected: &expected, figures: &figures, kill: nil
                    )
                    try await harness.waitUntilDelivered(destination, timeout: .seconds(60))
                    print("ProcessTests pg-signals: round \(round) delivered \(ContinuousClock.now - posted) after its first body was posted (worker poll 600 s)")
                }
                let (checked, mismatches) = try await harness.mismatches(against: expected)
                #expect(checked == ids.count)
                #expect(mismatches.isEmpty, "\(mismatches.count) fields differ, e.g. \(mismatches.prefix(8))")
                // One token to check the credentials when the connection was made, one shared by
                // the api process and the worker since.
                #expect(try await harness.admin.stats().tokenRequests == 2)
            }
        }
    }

    @Test(.enabled(if: PostgresTestDatabase.enabled, "needs a PostgreSQL server (SFDEST_TEST_POSTGRES_URL)"), .timeLimit(.minutes(5)))
    func aWorkerPausedPastItsLeaseCannotOverwriteWhatTheWorkerAfterItDid() async throws {
        try await PostgresTestDatabase.with { url in
            // Four requests in flight, fixed: the held requests time out, and an adaptive limit would
            // come down to one request (200 of the 300 records) before every record is in flight.
            let environment = [
                "SFDEST_MASTER_KEY": Self.scaleOutMasterKey, "SFDEST_DELIVERY_LEASE_SECONDS": "2", "SFDEST_SALESFORCE_TIMEOUT_SECONDS": "1.5",
                "SFDEST_DELIVERY_REQUESTS": "4", "SFDEST_DELIVERY_REQUESTS_MAX": "4",
            ]
            try await ProcessHarness.with(name: "pg-sigstop", contacts: 300, environment: environment, deadline: .seconds(280)) { harness in
                let database = ["--postgres", url.commandLineText]
                harness.serveArguments = database + ["--role", "api"]
                try await harness.start()
                let paused = try await harness.launch(1, arguments: database + ["--role", "worker"])
                let ids = harness.emulator.seededContactIds
                let destination = try await harness.configureDestination()
                var expected = ExpectedOrg()
                var figures = CrashSafetyTests.Figures()

                // Worker 1's first requests are held by the emulator; it is stopped while they are in flight.
                try await harness.admin.setFaults(["holdRestCalls": true, "latencyMs": 20])
                try await CrashSafetyTests.stream(
                    ProfileRounds.bodies(round: 0, ids: ids, linesPerBody: 50), harness: harness, expected: &expected, figures: &figures, kill: nil
                )
                // Every record in one of worker 1's requests.
                let deadline = ContinuousClock.now + .seconds(30)
                while true {
                    let inFlight = try await harness.deliveryState(destination).inFlight
                    if inFlight == ids.count, try await harness.admin.stats().restCallsInFlight > 0 { break }
                    guard ContinuousClock.now < deadline else { throw HarnessFailure("worker 1 did not send every record within 30 s") }
                    try await Task.sleep(for: .milliseconds(10))
                }
                paused.signal(SIGSTOP)
                // Salesforce applies the held writes and answers; the answers wait in the stopped
                // worker's sockets. Once its 2 s lease ran out, another worker takes its claims
                // over, and its requests are held in turn.
                try await harness.admin.setFaults(["holdRestCalls": false])
                while try await harness.admin.stats().restCallsInFlight > 0 { try await Task.sleep(for: .milliseconds(10)) }
                try await Task.sleep(for: .seconds(3))
                try await harness.admin.setFaults(["holdRestCalls": true])
                let successor = try await harness.launch(2, arguments: database + ["--role", "worker"])
                while try await harness.admin.stats().restCallsInFlight == 0 {
                    guard ContinuousClock.now < deadline + .seconds(30) else { throw HarnessFailure("worker 2 took nothing over") }
                    try await Task.sleep(for: .milliseconds(10))
                }

                // Worker 1 goes on while worker 2's requests for the same records are in flight:
                // its late answers must change nothing, and worker 2's must all apply.
                paused.signal(SIGCONT)
                let fenced = try await Self.fencedAnswers(of: paused, destination: destination, within: .seconds(30))
                try #require(fenced > 0, "worker 1 reported no fenced answer after it was resumed")
                try await harness.admin.setFaults(["holdRestCalls": false])
                try await harness.waitUntilDelivered(destination, timeout: .seconds(60))
                let successorFenced = try await Self.fencedAnswers(of: successor, destination: destination, within: .zero)
                #expect(successorFenced == 0, "worker 2's answers were refused: \(successorFenced)")

                // Then changes stream as usual; round 4 sets some records back to round 0's
                // values, those worker 1's late answers carried: sent only if the state is right.
                for round in 1...4 {
                    try await CrashSafetyTests.stream(
                        ProfileRounds.bodies(round: round, ids: ids, linesPerBody: 50), harness: harness, expected: &expected, figures: &figures, kill: nil
                    )
                }
                try await harness.waitUntilDelivered(destination, timeout: .seconds(90))

                let (checked, mismatches) = try await harness.mismatches(against: expected)
                #expect(checked == ids.count)
                #expect(mismatches.isEmpty, "\(mismatches.count) fields differ from the last accepted value, e.g. \(mismatches.prefix(12).joined(separator: "; "))")
                let stats = try await harness.admin.stats()
                #expect(stats.overlappingWrites == 0, "records written by two requests at once: \(stats.overlappingRecords)")
                let client = ContractClient(baseURL: "http://127.0.0.1:\(successor.port)", apiKey: ProcessHarness.apiKey)
                try await client.expect(200, .GET, "/health")
                print("ProcessTests pg-sigstop: worker 1 stopped with requests in flight past its 2 s lease, resumed while worker 2 sent the same records: \(fenced) late answers fenced, 0 of worker 2's, \(checked) records checked, \(mismatches.count) mismatches")
            }
        }
    }

    /// One worker meets the org's allowance used up: every worker waits, the `api` process shows
    /// the pause, and enabling the destination again ends it in every process at once.
    @Test(.enabled(if: PostgresTestDatabase.enabled, "needs a PostgreSQL server (SFDEST_TEST_POSTGRES_URL)"), .timeLimit(.minutes(4)))
    func theOrgsLimitMetByOneWorkerPausesEveryWorkerAndTheAPIProcessShowsIt() async throws {
        try await PostgresTestDatabase.with { url in
            // A long throttle pause, so the two seconds in which no worker may call fall inside it.
            let environment = ["SFDEST_MASTER_KEY": Self.scaleOutMasterKey, "SFDEST_DELIVERY_THROTTLE_SECONDS": "60"]
            try await Self.withAPIAndTwoWorkers(url, name: "pg-pauses", environment: environment) { harness, destination in
                let ids = harness.emulator.seededContactIds
                var expected = ExpectedOrg()
                var figures = CrashSafetyTests.Figures()

                // The org's allowance is used up: the worker that sends meets REQUEST_LIMIT_EXCEEDED.
                let used = try await harness.admin.stats().apiUsed
                try await harness.admin.setFaults(["apiLimit": Double(used + 1000), "apiUsed": Double(used + 1000)])
                try await CrashSafetyTests.stream(
                    ProfileRounds.bodies(round: 0, ids: ids, linesPerBody: 40), harness: harness, expected: &expected, figures: &figures, kill: nil
                )
                // The api process, which sends nothing, shows the pause a worker met.
                let deadline = ContinuousClock.now + .seconds(60)
                var shown: [String: Any] = [:]
                while ContinuousClock.now < deadline {
                    shown = try await harness.api.expect(200, .GET, "/v1/destinations/\(destination)").object["delivery"] as? [String: Any] ?? [:]
                    if shown["status"] as? String == "paused_api_limit" { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(shown["status"] as? String == "paused_api_limit", "the api process shows \(shown)")
                #expect((shown["reason"] as? String)?.contains("REQUEST_LIMIT_EXCEEDED") == true, "\(shown)")
                // Both workers wait out the 60 s pause: no further call reaches the org.
                let refused = try await harness.admin.stats().faultsStruck.requestLimitExceeded
                try await Task.sleep(for: .seconds(2))
                #expect(try await harness.admin.stats().faultsStruck.requestLimitExceeded == refused)
                #expect(try await harness.admin.stats().recordsWritten == 0)

                // The refused batch is back in the queue (a batch still in flight when the
                // destination is enabled again would come back due after the pause).
                let requeued = ContinuousClock.now + .seconds(30)
                while try await harness.deliveryState(destination).inFlight > 0, ContinuousClock.now < requeued {
                    try await Task.sleep(for: .milliseconds(50))
                }
                // The allowance is back and the destination is enabled again: the pause ends in
                // every process at once, long before its 60 s.
                try await harness.admin.setFaults(["apiUsed": 0])
                let resumed = ContinuousClock.now
                try await harness.api.enable(destination)
                try await harness.waitUntilDelivered(destination, timeout: .seconds(45))
                print("ProcessTests pg-pauses: delivered \(ContinuousClock.now - resumed) after the destination was enabled again; \(refused) call(s) refused")
                let (checked, mismatches) = try await harness.mismatches(against: expected)
                #expect(checked == ids.count)
                #expect(mismatches.isEmpty, "\(mismatches.prefix(8))")
            }
        }
    }

    /// A label put through the `api` process stops both workers before another record goes out;
    /// the changes streamed meanwhile stay queued, and taking the label off delivers them exactly.
    @Test(.enabled(if: PostgresTestDatabase.enabled, "needs a PostgreSQL server (SFDEST_TEST_POSTGRES_URL)"), .timeLimit(.minutes(4)))
    func aLabelPausesTheDestinationInEveryWorkerAndTakingItOffDeliversWhatWaited() async throws {
        try await PostgresTestDatabase.with { url in
            try await Self.withAPIAndTwoWorkers(url, name: "pg-labels", environment: ["SFDEST_MASTER_KEY": Self.scaleOutMasterKey]) { harness, destination in
                let ids = harness.emulator.seededContactIds
                var expected = ExpectedOrg()
                var figures = CrashSafetyTests.Figures()
                try await CrashSafetyTests.stream(
                    ProfileRounds.bodies(round: 0, ids: ids, linesPerBody: 40), harness: harness, expected: &expected, figures: &figures, kill: nil
                )
                try await harness.waitUntilDelivered(destination, timeout: .seconds(60))

                // The label: paused in the labels' transaction; no worker sends from then on.
                try await harness.api.expect(200, .PUT, "/v1/labels", json: [["source": "xdm:personalEmail.address", "labels": ["C2"]]])
                let before = try await harness.admin.stats()
                try await CrashSafetyTests.stream(
                    ProfileRounds.bodies(round: 1, ids: ids, linesPerBody: 40), harness: harness, expected: &expected, figures: &figures, kill: nil
                )
                try await Task.sleep(for: .seconds(2))
                let after = try await harness.admin.stats()
                #expect(after.recordsWritten == before.recordsWritten, "records written after the label: \(after.recordsWritten - before.recordsWritten)")
                #expect(after.callsByEndpoint["PATCH /composite/sobjects"] == before.callsByEndpoint["PATCH /composite/sobjects"])
                let shown = try await harness.api.expect(200, .GET, "/v1/destinations/\(destination)").object
                #expect(shown["status"] as? String == "paused_policy")
                let waiting = (shown["backlog"] as? [String: Int])?["pending"] ?? 0
                #expect(waiting > 0, "the changes streamed meanwhile are queued")

                // Off again: enabled, and what waited is delivered, every field exact.
                let resumed = ContinuousClock.now
                try await harness.api.expect(200, .PUT, "/v1/labels", json: [] as [Any])
                try await harness.waitUntilDelivered(destination, timeout: .seconds(60))
                let (checked, mismatches) = try await harness.mismatches(against: expected)
                #expect(checked == ids.count)
                #expect(mismatches.isEmpty, "\(mismatches.prefix(8))")
                print("ProcessTests pg-labels: \(waiting) records held by the label with two workers, delivered \(ContinuousClock.now - resumed) after it was taken off")
            }
        }
    }

    /// One `api` process and two workers on the database at `url`, against an emulator with 40
    /// Contacts, and the harness's destination configured: `body` gets the harness and its id.
    static func withAPIAndTwoWorkers(
        _ url: PostgresURL, name: String, environment: [String: String], _ body: @escaping @Sendable (ProcessHarness, String) async throws -> Void
    ) async throws {
        try await ProcessHarness.with(name: name, contacts: 40, environment: environment, deadline: .seconds(200)) { harness in
            let database = ["--postgres", url.commandLineText]
            harness.serveArguments = database + ["--role", "api"]
            try await harness.start()
            for number in 1...2 { _ = try await harness.launch(number, arguments: database + ["--role", "worker"]) }
            try await body(harness, try await harness.configureDestination())
        }
    }

    /// The answers a process reported fenced (`sfdest_delivery_answers_fenced_total`), once it
    /// reports some or `within` has passed.
    static func fencedAnswers(of process: ServeProcess, destination: String, within: Duration) async throws -> Int {
        let client = ContractClient(baseURL: "http://127.0.0.1:\(process.port)", apiKey: ProcessHarness.apiKey)
        let deadline = ContinuousClock.now + within
        while true {
            let metrics = try await client.expect(200, .GET, "/metrics").text
            let line = metrics.split(separator: "\n").first { $0.hasPrefix("sfdest_delivery_answers_fenced_total") && $0.contains(destination) }
            let count = line.flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }.map { Int($0) } ?? 0
            if count > 0 || ContinuousClock.now >= deadline { return count }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}
