import EmulatorAdminClient
import Foundation
import Logging
import PostgresStore
import SalesforceEmulator
import SfdestRuntime
import Store

/// `sfdest bench --postgres URL --workers 1,2,4`: the sync scenario (fresh profiles from the first
/// byte to the last acknowledgement) on SQLite in this process, then on PostgreSQL with one `api`
/// runtime in this process and N `sfdest serve --role worker` child processes, each run in a
/// database of its own on the URL's server (created, then dropped).
public struct PostgresBench: Sendable {
    public struct Options: Sendable {
        public var profiles = 20_000
        public var bodySize = 1_000
        public var concurrency = 8
        public var workers = [1, 2, 4]
        public init() {}
    }

    public struct Run: Sendable, Codable {
        /// `sqlite`, or `postgres` with `workers` worker processes.
        public var store: String
        public var workers: Int
        public var profiles: Int
        public var ingestSeconds: Double
        public var ingestProfilesPerSecond: Double
        public var syncSeconds: Double
        public var recordsPerSecond: Double
        public var apiCalls: Int
        public var minimumApiCalls: Int
        public var tokenRequests: Int
        /// The highest resident memory of each worker process.
        public var workerPeakMegabytes: [Double]
    }

    let server: PostgresURL
    let options: Options
    let logger: Logger
    let progress: @Sendable (String, Int, Int) -> Void

    public init(server: PostgresURL, options: Options, logger: Logger, progress: @escaping @Sendable (String, Int, Int) -> Void) {
        self.server = server
        self.options = options
        self.logger = logger
        self.progress = progress
    }

    public func run() async throws -> [Run] {
        guard let executable = Bundle.main.executableURL else { throw BenchFailure("cannot find this executable to start worker processes") }
        return try await SalesforceEmulator.with(EmulatorConfiguration(port: 0, contacts: self.options.profiles), logger: self.logger) { emulator in
            try await EmulatorAdminClient(baseURL: emulator.baseURL).addLongTextAreaFields(["crm_1_seg__c", "crm_2_seg__c"], to: ["Contact"])
            var runs = [try await BenchService.with(logger: self.logger) { service in
                try await self.sync(service, emulator: emulator, label: "sqlite", workers: [])
            }]
            for count in self.options.workers {
                runs.append(try await ScratchDatabase.with(on: self.server, prefix: "sfdest_bench_", logger: self.logger) { url in
                    let environment = [
                        "SFDEST_MASTER_KEY": SecretBox.generateKey(), "SFDEST_API_KEY": "sfd_bench_" + UUID().uuidString,
                        "SFDEST_POSTGRES_URL": url.text,
                    ]
                    return try await BenchService.withPostgres(url: url, environment: environment, logger: self.logger) { service in
                        let workers = try await WorkerProcesses.start(count, executable: executable, environment: environment)
                        defer { workers.stop() }
                        return try await self.sync(service, emulator: emulator, label: "postgres, \(count) worker\(count == 1 ? "" : "s")", workers: workers.pids)
                    }
                })
            }
            return runs
        }
    }

    private func sync(_ service: BenchService, emulator: RunningEmulator, label: String, workers: [Int32]) async throws -> Run {
        let admin = EmulatorAdminClient(baseURL: emulator.baseURL)
        let before = try await admin.stats()
        let destination = try await service.configureContactDestination(emulator: emulator, addFields: false)
        let ids = Array(emulator.seededContactIds.prefix(self.options.profiles))
        // Another round's values each run: every record is a real change in the org too.
        let bodies = BenchProfiles.bodies(ids: ids, size: self.options.bodySize, round: workers.count + 1)
        let timing = try await service.deliver(bodies, to: destination, concurrency: self.options.concurrency) { posted in
            self.progress(label, posted * self.options.bodySize, ids.count)
        }
        let after = try await admin.stats()
        return Run(
            store: workers.isEmpty ? "sqlite" : "postgres", workers: workers.count, profiles: ids.count,
            ingestSeconds: seconds(timing.ingest), ingestProfilesPerSecond: Double(ids.count) / seconds(timing.ingest),
            syncSeconds: seconds(timing.sync), recordsPerSecond: Double(ids.count) / seconds(timing.sync),
            apiCalls: after.patchCalls(since: before), minimumApiCalls: (ids.count + 199) / 200,
            tokenRequests: after.tokenRequests - before.tokenRequests,
            workerPeakMegabytes: workers.map { Double(ProcessMemory.peakResidentBytes(pid: $0) ?? 0) / 1_048_576 }
        )
    }
}

/// `sfdest serve --role worker` child processes of this executable, on a free port each; their
/// output goes to a temporary directory, removed when they are stopped.
struct WorkerProcesses {
    let processes: [Process]
    let directory: URL

    var pids: [Int32] { self.processes.map(\.processIdentifier) }

    /// Starts `count` workers and returns once each listens (at most 60 s).
    static func start(_ count: Int, executable: URL, environment: [String: String]) async throws -> WorkerProcesses {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-bench-workers-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var processes: [Process] = []
        var logs: [URL] = []
        for number in 1...count {
            let log = directory.appendingPathComponent("worker-\(number).log")
            guard FileManager.default.createFile(atPath: log.path, contents: nil) else { throw BenchFailure("cannot create \(log.path)") }
            let handle = try FileHandle(forWritingTo: log)
            defer { try? handle.close() }
            let process = Process()
            process.executableURL = executable
            process.arguments = ["serve", "--role", "worker", "--host", "127.0.0.1", "--port", "0"]
            var inherited = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SFDEST_") }
            inherited.merge(environment) { $1 }
            process.environment = inherited
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            processes.append(process)
            logs.append(log)
        }
        let workers = WorkerProcesses(processes: processes, directory: directory)
        let deadline = ContinuousClock.now + .seconds(60)
        for (process, log) in zip(processes, logs) {
            while !((try? String(contentsOf: log, encoding: .utf8))?.contains("listening on") ?? false) {
                guard process.isRunning, ContinuousClock.now < deadline else {
                    let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                    workers.stop()
                    throw BenchFailure("a worker process did not start: \(output.suffix(600))")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        return workers
    }

    /// SIGTERM to each, SIGKILL to any still running 10 s later.
    func stop() {
        for process in self.processes where process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(10)
        for process in self.processes {
            while process.isRunning, Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        try? FileManager.default.removeItem(at: self.directory)
    }
}
