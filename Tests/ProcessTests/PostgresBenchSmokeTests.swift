import Foundation
import SfdestTestSupport
import Testing

/// `sfdest bench --postgres URL --workers N` end to end on small numbers: a SQLite run, then a run
/// per worker count with that many `sfdest serve --role worker` children, each in its own
/// database. It asserts what the bench reports, never how fast. In the crash tests' serialized
/// suite (it starts processes and PostgreSQL work as they do).
extension CrashSafetyTests {
    @Test(.enabled(if: PostgresTestDatabase.enabled, "needs a PostgreSQL server (SFDEST_TEST_POSTGRES_URL)"), .timeLimit(.minutes(4)))
    func theScaleOutBenchRunsSQLiteThenEachNumberOfWorkers() async throws {
        let server = try #require(PostgresTestDatabase.serverURL)
        let process = Process()
        process.executableURL = try SfdestBinary.locate()
        process.arguments = ["bench", "--profiles", "400", "--workers", "1,2", "--json"]
        // The URL through the environment, as the help says for passwords.
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SFDEST_") }
        environment["SFDEST_BENCH_POSTGRES_URL"] = server
        process.environment = environment
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-bench-smoke-\(UUID().uuidString).json")
        #expect(FileManager.default.createFile(atPath: output.path, contents: nil))
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = FileHandle.nullDevice
        try ProcessLaunch.run(process)
        let deadline = ContinuousClock.now + .seconds(200)
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
        if process.isRunning { process.terminate() }
        try handle.close()
        #expect(!process.isRunning && process.terminationStatus == 0, "sfdest bench --postgres did not finish with status 0")

        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: output)) as? [String: Any])
        let runs = try #require(report["postgres"] as? [[String: Any]])
        #expect(runs.map { $0["store"] as? String } == ["sqlite", "postgres", "postgres"])
        #expect(runs.map { $0["workers"] as? Int } == [0, 1, 2])
        for run in runs {
            #expect(run["profiles"] as? Int == 400)
            #expect(run["apiCalls"] as? Int == 2 && run["minimumApiCalls"] as? Int == 2, "\(run)")
            // The connection's check, then one session for every process.
            #expect(run["tokenRequests"] as? Int == 2, "\(run)")
            #expect((run["recordsPerSecond"] as? Double ?? 0) > 0)
        }
        #expect((runs[2]["workerPeakMegabytes"] as? [Double])?.count == 2)
        // Nothing else ran: no --scenario asked for more.
        #expect(report["sync"] == nil && report["scale"] == nil)
        // Each run's database was dropped.
        let left = try await PostgresTestDatabase.databases(startingWith: "sfdest_bench_")
        #expect(left.isEmpty, "bench databases left: \(left)")
    }
}
