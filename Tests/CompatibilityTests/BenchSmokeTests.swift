import Benchmarks
import Logging
import Testing

/// `sfdest bench` works end to end on small numbers. It asserts what the scenarios report, never
/// how fast: speed is measured by the benchmark itself, not by tests.
@Suite("Benchmark smoke run")
struct BenchSmokeTests {
    @Test func everyScenarioRunsAndReportsConsistentFigures() async throws {
        var logger = Logger(label: "bench-smoke")
        logger.logLevel = .warning
        var options = ServiceBench.Options()
        options.profiles = 1_000
        options.bodySize = 250
        options.streamRate = 100
        options.streamSeconds = 1
        options.scaleProfiles = 2_000
        let bench = ServiceBench(options: options, logger: logger) { _, _, _ in }

        let scale = try await bench.runScale()
        #expect(scale.profiles == 2_000)
        #expect(scale.samples.last?.profilesStored == 2_000)
        #expect(scale.databaseMegabytes > 0)

        var ceilingOptions = EmulatorCeiling.Options()
        ceilingOptions.records = 2_000
        ceilingOptions.orgRecords = 1_000
        let ceiling = try await EmulatorCeiling(options: ceilingOptions).run(logger: logger) { _, _ in }
        #expect(ceiling.requests == 10)

        let (sync, stream) = try await bench.runSyncAndStream(stream: true)
        #expect(sync.profiles == 1_000)
        #expect(sync.apiCalls == sync.minimumApiCalls)
        #expect(sync.minimumApiCalls == 5)
        #expect(sync.unchangedApiCalls == 0)
        let streamed = try #require(stream)
        #expect(streamed.profiles == 100)
        #expect(streamed.apiCalls >= 1)
        #expect(streamed.p99Milliseconds >= streamed.p50Milliseconds)

        var idleOptions = options
        idleOptions.idleRecords = 1_000
        idleOptions.idleSeconds = 1
        let idle = try await ServiceBench(options: idleOptions, logger: logger) { _, _, _ in }.runIdle()
        #expect(idle.deliveredRecords == 1_000)
        #expect(idle.idleApiCalls == 0)
        #expect(idle.idleSeconds >= 1)
        #expect(idle.idleCoreShare >= 0)

        var report = BenchReport()
        report.scale = scale
        report.ceiling = ceiling
        report.sync = sync
        report.stream = stream
        report.idle = idle
        #expect(report.table.contains("API calls (minimum ceil(n/200))"))
        #expect(report.table.contains("CPU while idle"))
    }
}
