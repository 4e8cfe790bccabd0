import EmulatorAdminClient
import Foundation
import Logging
import SalesforceEmulator

/// The idle service after a large delivery: what its periodic work (delivery's poll, the alert
/// check, the webhook poll) costs when nothing is queued but many records were delivered. That
/// cost must follow the backlog, not the history.
extension ServiceBench {
    public struct IdleResult: Sendable, Codable {
        public var deliveredRecords: Int
        public var deliverySeconds: Double
        public var idleSeconds: Double
        /// CPU time (user + system) of the process over the idle window, as a share of one core.
        public var idleCoreShare: Double
        public var idleApiCalls: Int
    }

    /// Delivers `idleRecords` records through the emulator, then watches the idle service for
    /// `idleSeconds`.
    public func runIdle() async throws -> IdleResult {
        try await SalesforceEmulator.with(EmulatorConfiguration(port: 0, contacts: self.options.idleRecords), logger: self.logger) { emulator in
            try await BenchService.with(logger: self.logger) { service in
                try await self.measureIdle(service: service, emulator: emulator)
            }
        }
    }

    private func measureIdle(service: BenchService, emulator: RunningEmulator) async throws -> IdleResult {
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
        try await Task.sleep(for: .seconds(self.options.idleSeconds))
        let idle = seconds(ContinuousClock.now - idleStart)
        let cpu = ProcessMemory.cpuSeconds() - cpuBefore
        let after = try await admin.stats()
        return IdleResult(
            deliveredRecords: ids.count, deliverySeconds: seconds(delivered - started), idleSeconds: idle,
            idleCoreShare: cpu / idle, idleApiCalls: after.apiCalls - before.apiCalls
        )
    }
}
