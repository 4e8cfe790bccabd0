import EmulatorAdminClient
import Foundation
import Logging
import SalesforceEmulator
import SfdestRuntime

/// `sfdest bench --scenario latency`: the sync work against an emulator that answers every call
/// after `latencyMs`, as a real org does (0.1 to 1 s): with the adaptive requests in flight, with
/// them fixed at 4 (the earlier behaviour), and with one body posted at a time (a sequential
/// source); beside a sequential simple-salesforce script doing the same updates on the same
/// emulator, 200 records a call (`scripts/bench/collections_peer.py`), as the reference.
public struct LatencyBench: Sendable {
    public struct Options: Sendable {
        public var profiles = 20_000
        public var bodySize = 1_000
        public var latencyMs = 300
        public init() {}
    }

    public struct Variant: Sendable, Codable {
        public var name: String
        public var bodiesInFlight: Int
        public var requestsMax: Int
        public var seconds: Double
        public var recordsPerSecond: Double
        public var ingestProfilesPerSecond: Double
        public var apiCalls: Int
        public var minimumApiCalls: Int
        /// The connection's limit of requests in flight at the end.
        public var finalLimit: Int?
    }

    public struct Peer: Sendable, Codable {
        public var records: Int
        public var calls: Int
        public var seconds: Double
        public var recordsPerSecond: Double
    }

    public struct Result: Sendable, Codable {
        public var latencyMs: Int
        public var profiles: Int
        public var variants: [Variant]
        /// Nil when python3 with simple-salesforce is not there (`scripts/compat/requirements.txt`).
        public var peer: Peer?
        public var peerProblem: String?
    }

    let options: Options
    let logger: Logger
    let progress: @Sendable (String, Int, Int) -> Void

    public init(options: Options, logger: Logger, progress: @escaping @Sendable (String, Int, Int) -> Void) {
        self.options = options
        self.logger = logger
        self.progress = progress
    }

    public func run() async throws -> Result {
        var variants: [Variant] = []
        for (name, bodies, maximum) in [("adaptive", 8, 25), ("fixed at 4", 8, 4), ("adaptive, 1 body at a time", 1, 25)] {
            variants.append(try await self.measure(name: name, bodiesInFlight: bodies, requestsMax: maximum))
        }
        var result = Result(latencyMs: self.options.latencyMs, profiles: self.options.profiles, variants: variants)
        do {
            result.peer = try await self.peer()
        } catch {
            result.peerProblem = "\(error)"
        }
        return result
    }

    private func measure(name: String, bodiesInFlight: Int, requestsMax: Int) async throws -> Variant {
        let profiles = self.options.profiles
        return try await SalesforceEmulator.with(EmulatorConfiguration(port: 0, contacts: profiles), logger: self.logger) { emulator in
            try await BenchService.with(logger: self.logger, configure: { $0.delivery.maxConcurrentRequests = requestsMax }) { service in
                let admin = EmulatorAdminClient(baseURL: emulator.baseURL)
                let destination = try await service.configureContactDestination(emulator: emulator)
                let ids = Array(emulator.seededContactIds.prefix(profiles))
                let bodies = BenchProfiles.bodies(ids: ids, size: self.options.bodySize, round: 0)
                try await admin.setFaults(["latencyMs": self.options.latencyMs])
                let before = try await admin.stats()
                let label = "latency \(name)"
                let delivered = try await service.deliver(bodies, to: destination, concurrency: bodiesInFlight) { posted in
                    self.progress(label, posted * self.options.bodySize, ids.count)
                }
                let after = try await admin.stats()
                let shown = try await service.api.expect(200, .GET, "/v1/destinations/\(destination)").object
                let limit = ((shown["delivery"] as? [String: Any])?["concurrency"] as? [String: Int])?["limit"]
                return Variant(
                    name: name, bodiesInFlight: bodiesInFlight, requestsMax: requestsMax, seconds: seconds(delivered.sync),
                    recordsPerSecond: Double(ids.count) / seconds(delivered.sync), ingestProfilesPerSecond: Double(ids.count) / seconds(delivered.ingest),
                    apiCalls: after.patchCalls(since: before), minimumApiCalls: (ids.count + 199) / 200, finalLimit: limit
                )
            }
        }
    }

    /// The reference: the same updates by a sequential simple-salesforce script.
    private func peer() async throws -> Peer {
        let profiles = self.options.profiles
        return try await SalesforceEmulator.with(EmulatorConfiguration(port: 0, contacts: profiles), logger: self.logger) { emulator in
            let admin = EmulatorAdminClient(baseURL: emulator.baseURL)
            try await admin.addLongTextAreaFields(["crm_1_seg__c"], to: ["Contact"])
            try await admin.setFaults(["latencyMs": self.options.latencyMs])
            let idsFile = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-bench-peer-\(UUID().uuidString).json")
            defer { try? FileManager.default.removeItem(at: idsFile) }
            try JSONSerialization.data(withJSONObject: Array(emulator.seededContactIds.prefix(profiles))).write(to: idsFile)
            self.progress("latency peer script", 0, profiles)
            let output = try await Self.python(Self.peerScript, ["--base-url", emulator.baseURL, "--ids-file", idsFile.path, "--last-name", "Peer"])
            guard let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any],
                  let records = object["records"] as? Int, let calls = object["calls"] as? Int, let seconds = object["seconds"] as? Double
            else { throw BenchFailure("the peer script printed \(output.prefix(300))") }
            return Peer(records: records, calls: calls, seconds: seconds, recordsPerSecond: Double(records) / seconds)
        }
    }

    /// `scripts/bench/collections_peer.py` of this checkout.
    static var peerScript: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/bench/collections_peer.py")
    }

    /// Runs python3 (from PATH) off the cooperative pool; its standard output, or why it failed.
    static func python(_ script: URL, _ arguments: [String]) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Swift.Result { try Self.pythonBlocking(script, arguments) })
            }
        }
    }

    static func pythonBlocking(_ script: URL, _ arguments: [String]) throws -> String {
        guard FileManager.default.fileExists(atPath: script.path) else {
            throw BenchFailure("\(script.path) is not there (run the bench from a checkout)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path] + arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let said = String(decoding: stderr.suffix(400), as: UTF8.self)
            throw BenchFailure("python3 \(script.lastPathComponent) exited \(process.terminationStatus): \(said) (pip install -r scripts/compat/requirements.txt)")
        }
        return String(decoding: stdout, as: UTF8.self)
    }
}
