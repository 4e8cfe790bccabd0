import ArgumentParser
import Benchmarks
import Foundation
import Logging
import PostgresStore
import SfdestCLI
import SfdestRuntime
import Synchronization

/// `sfdest bench`: measured figures, not tests. Build with `-c release` for real numbers.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput, API calls, latency and memory against the built-in emulator (use a release build).",
        discussion: """
            Scenarios: scale (stored profiles: memory, database size, speed over time), ceiling (the emulator alone \
            with pre-built bodies), sync (fresh profiles from first byte to last acknowledgement; also reports ingest \
            and the unchanged resend), stream (a steady rate: latency from 202 to Salesforce's write), idle (the CPU the \
            idle service uses after delivering --idle-records records), backfill (a backfill of --profiles stored profiles \
            through Bulk API 2.0 and through sObject Collections, side by side), latency (the sync work against an org \
            answering every call after --latency-ms: adaptive requests in flight, fixed at 4, and one body at a time, \
            beside a sequential simple-salesforce script doing the same updates). With --postgres URL: the sync \
            scenario on SQLite, then on PostgreSQL with 1 api and each of --workers worker processes, each run in a new \
            database on that server (the URL's user must be allowed to create databases; each is dropped after its run).
            """
    )

    enum Scenario: String, ExpressibleByArgument, CaseIterable {
        case scale, ceiling, sync, ingest, unchanged, stream, idle, backfill, latency
    }

    static let defaultScenarios: [Scenario] = [.scale, .ceiling, .sync, .stream, .idle]

    @Option(help: """
        Scenarios to run: \(Scenario.allCases.map(\.rawValue).joined(separator: ", ")) (ingest and unchanged are part of sync); \
        default \(Self.defaultScenarios.map(\.rawValue).joined(separator: ",")), none with --postgres.
        """)
    var scenario: [Scenario] = []

    @Option(help: "Profiles in the sync and backfill scenarios.")
    var profiles = 100_000

    @Option(name: .customLong("stream-rate"), help: "Profiles per second in the stream scenario.")
    var streamRate = 2_000

    @Option(name: .customLong("stream-seconds"), help: "Length of the stream scenario.")
    var streamSeconds = 15

    @Option(name: .customLong("scale-profiles"), help: "Profiles stored in the scale scenario.")
    var scaleProfiles = 1_000_000

    @Option(name: .customLong("idle-records"), help: "Records delivered before the idle scenario watches the service.")
    var idleRecords = 1_000_000

    @Option(name: .customLong("idle-seconds"), help: "How long the idle scenario watches the service.")
    var idleSeconds = 10

    @Option(name: .customLong("latency-ms"), help: "The org's latency per call in the latency scenario (the emulator waits that long before answering).")
    var latencyMs = 300

    @Option(name: .customLong("latency-profiles"), help: "Profiles in the latency scenario (each of its runs, and the reference script, updates that many).")
    var latencyProfiles = 20_000

    @Option(help: "Records to update in the ceiling scenario.")
    var records = 200_000

    @Option(help: "Profile bodies in flight at once (the ceiling always has 4 requests in flight, as delivery does).")
    var concurrency = 8

    @Option(name: .customLong("postgres"), help: "A PostgreSQL server (postgres://user:pw@host:port/db) for the scale-out runs; or SFDEST_BENCH_POSTGRES_URL.")
    var postgres: String?

    @Option(help: "Worker processes in each scale-out run, comma-separated (with --postgres).")
    var workers = "1,2,4"

    @Flag(help: "Print the results as JSON.")
    var json = false

    func validate() throws {
        guard self.records >= 200 else { throw ValidationError("--records must be at least 200 (one request)") }
        guard (1...64).contains(self.concurrency) else { throw ValidationError("--concurrency must be between 1 and 64") }
        guard self.profiles >= 1, self.scaleProfiles >= 1 else { throw ValidationError("--profiles and --scale-profiles must be at least 1") }
        guard self.idleRecords >= 1, self.idleSeconds >= 1 else { throw ValidationError("--idle-records and --idle-seconds must be at least 1") }
        guard self.workerCounts.allSatisfy({ (1...16).contains($0) }), !self.workerCounts.isEmpty else {
            throw ValidationError("--workers must be whole numbers from 1 to 16, comma-separated (got \"\(self.workers)\")")
        }
        if let text = self.postgresText {
            do {
                _ = try PostgresURL(text)
            } catch {
                throw ValidationError("--postgres: \(error.description)")
            }
        }
        guard (0...10_000).contains(self.latencyMs), self.latencyProfiles >= 200 else {
            throw ValidationError("--latency-ms must be from 0 to 10000 and --latency-profiles at least 200")
        }
        guard self.streamRate >= 10, self.streamSeconds >= 1 else { throw ValidationError("--stream-rate must be at least 10 and --stream-seconds at least 1") }
    }

    var workerCounts: [Int] { self.workers.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) ?? 0 } }
    var postgresText: String? { self.postgres ?? ProcessInfo.processInfo.environment["SFDEST_BENCH_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 } }

    func run() async throws {
        var logger = Logger(label: "sfdest.bench")
        logger.logLevel = .warning
        var report = BenchReport()
        let wanted = Set(self.scenario.isEmpty && self.postgresText == nil ? Self.defaultScenarios : self.scenario)
        let progress = ProgressBoard(enabled: !self.json)
        var options = ServiceBench.Options()
        options.profiles = self.profiles
        options.concurrency = self.concurrency
        options.streamRate = self.streamRate
        options.streamSeconds = self.streamSeconds
        options.scaleProfiles = self.scaleProfiles
        options.idleRecords = self.idleRecords
        options.idleSeconds = self.idleSeconds
        let bench = ServiceBench(options: options, logger: logger) { label, done, total in progress.update(label, done: done, total: total) }
        // Scale first: its peak memory is measured before anything else grew the process.
        if wanted.contains(.scale) {
            report.scale = try await bench.runScale()
            progress.finish()
        }
        if wanted.contains(.ceiling) {
            var ceiling = EmulatorCeiling.Options()
            ceiling.records = self.records
            report.ceiling = try await EmulatorCeiling(options: ceiling).run(logger: logger) { done, total in
                progress.update("ceiling", done: done, total: total)
            }
            progress.finish()
        }
        if !wanted.isDisjoint(with: [.sync, .ingest, .unchanged, .stream]) {
            let (sync, stream) = try await bench.runSyncAndStream(stream: wanted.contains(.stream))
            report.sync = sync
            report.stream = stream
            progress.finish()
        }
        if wanted.contains(.backfill) {
            report.backfill = try await bench.runBackfill()
            progress.finish()
        }
        if wanted.contains(.latency) {
            var latency = LatencyBench.Options()
            latency.latencyMs = self.latencyMs
            latency.profiles = self.latencyProfiles
            report.latency = try await LatencyBench(options: latency, logger: logger) { label, done, total in
                progress.update(label, done: done, total: total)
            }.run()
            progress.finish()
        }
        if let text = self.postgresText {
            var options = PostgresBench.Options()
            options.profiles = self.profiles
            options.concurrency = self.concurrency
            options.workers = self.workerCounts
            report.postgres = try await PostgresBench(server: try PostgresURL(text), options: options, logger: logger) { label, done, total in
                progress.update(label, done: done, total: total)
            }.run()
            progress.finish()
        }
        if wanted.contains(.idle) {
            report.idle = try await bench.runIdle()
            progress.finish()
        }
        if self.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.table)
        }
    }
}

/// One progress line per scenario, on standard error.
final class ProgressBoard: Sendable {
    private let enabled: Bool
    private let line = Mutex<(label: String, bar: ProgressLine)?>(nil)

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ label: String, done: Int, total: Int) {
        guard self.enabled else { return }
        let bar = self.line.withLock { current -> ProgressLine in
            if let current, current.label == label { return current.bar }
            if let current { current.bar.finish() }
            let bar = ProgressLine(label: label.padding(toLength: 8, withPad: " ", startingAt: 0))
            current = (label, bar)
            return bar
        }
        bar.update(done: done, total: total)
    }

    func finish() {
        self.line.withLock { current in
            current?.bar.finish()
            current = nil
        }
    }
}
