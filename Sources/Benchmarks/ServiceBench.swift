import Activation
import EmulatorAdminClient
import Foundation
import Logging
import SalesforceEmulator
import SfdestRuntime
import Synchronization

/// The service's scenarios: ingest, sync, unchanged, stream (against the emulator, in this process)
/// and scale (a million stored profiles, no Salesforce).
public struct ServiceBench: Sendable {
    public struct Options: Sendable {
        public var profiles = 100_000
        public var bodySize = 1_000
        /// Profile bodies in flight at once: a streaming source sends concurrently, and a body is
        /// answered only once it is stored durably, so fewer leave the store's writer idle.
        public var concurrency = 8
        public var streamRate = 2_000
        public var streamSeconds = 15
        public var scaleProfiles = 1_000_000
        /// Records delivered before the idle scenario watches the service, and for how long.
        public var idleRecords = 1_000_000
        public var idleSeconds = 10
        public init() {}
    }

    public struct SyncResult: Sendable, Codable {
        public var profiles: Int
        public var ingestSeconds: Double
        public var ingestProfilesPerSecond: Double
        public var syncSeconds: Double
        public var recordsPerSecond: Double
        public var apiCalls: Int
        public var minimumApiCalls: Int
        public var unchangedIngestProfilesPerSecond: Double
        public var unchangedApiCalls: Int
    }

    public struct StreamResult: Sendable, Codable {
        public var profilesPerSecondTarget: Int
        public var profiles: Int
        public var seconds: Double
        public var p50Milliseconds: Double
        public var p95Milliseconds: Double
        public var p99Milliseconds: Double
        public var maxMilliseconds: Double
        public var apiCalls: Int
    }

    public struct ScaleSample: Sendable, Codable {
        public var profilesStored: Int
        public var profilesPerSecond: Double
        public var residentMegabytes: Double
        /// The 99th percentile of one ingest request (a body of `bodySize` profiles) in this chunk.
        public var p99BodyMilliseconds: Double
    }

    public struct ScaleResult: Sendable, Codable {
        public var profiles: Int
        public var seconds: Double
        public var peakResidentMegabytes: Double
        public var databaseMegabytes: Double
        public var samples: [ScaleSample]
    }

    let options: Options
    let logger: Logger
    let progress: @Sendable (String, Int, Int) -> Void

    public init(options: Options, logger: Logger, progress: @escaping @Sendable (String, Int, Int) -> Void) {
        self.options = options
        self.logger = logger
        self.progress = progress
    }

    // MARK: ingest, sync, unchanged, stream

    /// Fresh profiles from first byte to last acknowledgement, then the same again, then a steady stream.
    public func runSyncAndStream(stream: Bool) async throws -> (SyncResult, StreamResult?) {
        let contacts = max(self.options.profiles, stream ? self.options.streamRate * self.options.streamSeconds : 0)
        return try await SalesforceEmulator.with(EmulatorConfiguration(port: 0, contacts: contacts), logger: self.logger) { emulator in
            try await BenchService.with(logger: self.logger) { service in
                try await self.measure(service: service, emulator: emulator, stream: stream)
            }
        }
    }

    private func measure(service: BenchService, emulator: RunningEmulator, stream: Bool) async throws -> (SyncResult, StreamResult?) {
        let admin = EmulatorAdminClient(baseURL: emulator.baseURL)
        let destination = try await service.configureContactDestination(emulator: emulator)
        let ids = Array(emulator.seededContactIds.prefix(self.options.profiles))
        let bodies = BenchProfiles.bodies(ids: ids, size: self.options.bodySize, round: 0)

        // sync: ingest and delivery together, from the first byte to the last acknowledgement
        let before = try await admin.stats()
        let fresh = try await service.deliver(bodies, to: destination, concurrency: self.options.concurrency) { posted in
            self.progress("sync", posted * self.options.bodySize, ids.count)
        }
        let after = try await admin.stats()

        // unchanged: the same profiles again
        let unchanged = try await service.deliver(bodies, to: destination, concurrency: self.options.concurrency)
        let afterUnchanged = try await admin.stats()

        let sync = SyncResult(
            profiles: ids.count,
            ingestSeconds: seconds(fresh.ingest),
            ingestProfilesPerSecond: Double(ids.count) / seconds(fresh.ingest),
            syncSeconds: seconds(fresh.sync),
            recordsPerSecond: Double(ids.count) / seconds(fresh.sync),
            apiCalls: after.patchCalls(since: before),
            minimumApiCalls: (ids.count + 199) / 200,
            unchangedIngestProfilesPerSecond: Double(ids.count) / seconds(unchanged.ingest),
            unchangedApiCalls: afterUnchanged.patchCalls(since: after)
        )
        guard stream else { return (sync, nil) }
        return (sync, try await self.stream(service: service, admin: admin, emulator: emulator, destination: destination))
    }

    /// A steady rate in bodies every 100 ms; latency from each body's 202 to the moment Salesforce
    /// wrote the record (the emulator's LastModifiedDate, same clock).
    private func stream(service: BenchService, admin: EmulatorAdminClient, emulator: RunningEmulator, destination: String) async throws -> StreamResult {
        let perTick = max(1, self.options.streamRate / 10)
        let ticks = self.options.streamSeconds * 10
        let ids = emulator.seededContactIds
        let answeredAt = Shared<[Int: Date]>([:])
        let before = try await admin.stats()
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for tick in 0..<ticks {
                let slice = ids[(tick * perTick) % ids.count..<min((tick * perTick) % ids.count + perTick, ids.count)]
                let body = BenchProfiles.body(ids: slice, round: 1)
                let api = service.api
                group.addTask {
                    let answer = try await api.send(.POST, "/v1/profiles", body: body, contentType: "application/x-ndjson")
                    guard answer.status == 202 else { throw BenchFailure("a stream body was answered \(answer.status)") }
                    answeredAt.withLock { $0[tick] = Date() }
                }
                self.progress("stream", (tick + 1) * perTick, ticks * perTick)
                try await Task.sleep(until: started + .milliseconds(100 * (tick + 1)))
            }
            try await group.waitForAll()
        }
        let elapsed = seconds(ContinuousClock.now - started)
        try await service.api.waitUntilDelivered(destination, timeout: .seconds(600), pollInterval: .milliseconds(20))
        let after = try await admin.stats()
        var latencies: [Double] = []
        let answered = answeredAt.withLock { $0 }
        for tick in 0..<ticks {
            guard let accepted = answered[tick] else { continue }
            let start = (tick * perTick) % ids.count
            for id in ids[start..<min(start + perTick, ids.count)] {
                guard let record = try await admin.record(id), let modified = record["LastModifiedDate"] as? String,
                      let written = Timestamp.parseMilliseconds(modified)
                else { continue }
                latencies.append(max(0, Double(written) - accepted.timeIntervalSince1970 * 1000))
            }
            self.progress("latency", tick + 1, ticks)
        }
        latencies.sort()
        return StreamResult(
            profilesPerSecondTarget: self.options.streamRate, profiles: ticks * perTick, seconds: elapsed,
            p50Milliseconds: percentile(latencies, 0.50), p95Milliseconds: percentile(latencies, 0.95),
            p99Milliseconds: percentile(latencies, 0.99), maxMilliseconds: latencies.last ?? 0,
            apiCalls: after.patchCalls(since: before)
        )
    }

    // MARK: scale

    /// Stores `scaleProfiles` profiles (no destination, no Salesforce) and samples memory and speed.
    public func runScale() async throws -> ScaleResult {
        ProcessMemory.resetPeak()
        return try await BenchService.with(logger: self.logger) { service in
            let total = self.options.scaleProfiles
            let size = self.options.bodySize
            let step = max(size, total / 10)
            var samples: [ScaleSample] = []
            let started = ContinuousClock.now
            var stored = 0
            while stored < total {
                let chunkStart = ContinuousClock.now
                let chunk = min(step, total - stored)
                let first = stored
                let bodies = stride(from: 0, to: chunk, by: size).map { offset in
                    BenchProfiles.body(ids: (first + offset..<first + min(offset + size, chunk)).map { "scale-\($0)" }[...], round: 0)
                }
                let latencies = Shared<[Double]>([])
                try await service.post(bodies, concurrency: self.options.concurrency) { _, took in
                    latencies.withLock { $0.append(seconds(took) * 1000) }
                }
                stored += chunk
                let chunkSeconds = seconds(ContinuousClock.now - chunkStart)
                self.progress("scale", stored, total)
                samples.append(ScaleSample(
                    profilesStored: stored, profilesPerSecond: Double(chunk) / chunkSeconds,
                    residentMegabytes: Double(ProcessMemory.residentBytes() ?? 0) / 1_048_576,
                    p99BodyMilliseconds: percentile(latencies.withLock { $0.sorted() }, 0.99)
                ))
            }
            return ScaleResult(
                profiles: total, seconds: seconds(ContinuousClock.now - started),
                peakResidentMegabytes: Double(ProcessMemory.peakResidentBytes() ?? 0) / 1_048_576,
                databaseMegabytes: Double(ProcessMemory.directoryBytes(service.dataDirectory)) / 1_048_576,
                samples: samples
            )
        }
    }
}
