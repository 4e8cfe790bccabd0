import EmulatorAdminClient
import Foundation
import Logging
import SalesforceEmulator

/// The idle service after a large delivery: what its periodic work (delivery's poll, the alert
/// check, the webhook poll) costs when nothing is queued but many records were delivered. That
/// cost must follow the backlog, not the history.
public struct IdleBench: Sendable {
    public struct Options: Sendable {
        /// Records delivered before the idle measurement.
        public var records = 1_000_000
        /// How long the idle service is watched.
        public var seconds = 10
        public var bodySize = 1_000
        public var concurrency = 8
        public init() {}
    }

    public struct Result: Sendable, Codable {
        public var deliveredRecords: Int
        public var deliverySeconds: Double
        public var idleSeconds: Double
        /// CPU time (user + system) of the process over the idle window, as a share of one core.
        public var idleCoreShare: Double
        public var idleApiCalls: Int
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
        return try await SalesforceEmulator.with(EmulatorConfiguration(port: 0, contacts: self.options.records), logger: self.logger) { emulator in
            try await BenchService.with(logger: self.logger) { service in
                try await self.measure(service: service, emulator: emulator)
            }
        }
    }

    private func measure(service: BenchService, emulator: RunningEmulator) async throws -> Result {
        let admin = EmulatorAdminClient(baseURL: emulator.baseURL)
        let destination = try await service.configureContactDestination(emulator: emulator)
        let ids = emulator.seededContactIds
        let size = self.options.bodySize
        let started = ContinuousClock.now
        // In chunks, so the bodies of a million profiles are never all in memory at once.
        var posted = 0
        while posted < ids.count {
            let chunk = Array(ids[posted..<min(posted + 100 * size, ids.count)])
            try await service.post(BenchProfiles.bodies(ids: chunk, size: size, round: 0), concurrency: self.options.concurrency)
            posted += chunk.count
            self.progress("idle", posted, ids.count)
        }
        try await service.api.waitUntilDelivered(destination, timeout: .seconds(3_600), pollInterval: .milliseconds(100))
        let delivered = ContinuousClock.now
        // Let the last sends' follow-up (run windows closing, the alert check) settle.
        try await Task.sleep(for: .seconds(2))
        let before = try await admin.stats()
        let cpuBefore = ProcessMemory.cpuSeconds()
        let idleStart = ContinuousClock.now
        try await Task.sleep(for: .seconds(self.options.seconds))
        let idle = seconds(ContinuousClock.now - idleStart)
        let cpu = ProcessMemory.cpuSeconds() - cpuBefore
        let after = try await admin.stats()
        return Result(
            deliveredRecords: ids.count, deliverySeconds: seconds(delivered - started), idleSeconds: idle,
            idleCoreShare: cpu / idle, idleApiCalls: after.apiCalls - before.apiCalls
        )
    }
}
