import EmulatorAdminClient
import Foundation
import SalesforceEmulator
import SfdestClient

/// The backfill scenario (issue 12): the same backfill of fresh stored profiles through Bulk API
/// 2.0 (the default `bulkThreshold`) and through sObject Collections (`bulkThreshold: null`),
/// side by side, each on a fresh service and a fresh emulator.
extension ServiceBench {
    public struct BackfillRun: Sendable, Codable {
        /// `bulk` or `collections`.
        public var path: String
        public var records: Int
        /// From `POST .../enable` to the last record acknowledged.
        public var seconds: Double
        public var recordsPerSecond: Double
        /// Delivery's calls as the emulator counted them: jobs and collections requests.
        public var apiCalls: Int
        public var callsByEndpoint: [String: Int]
        /// The emulator's own count of records written.
        public var recordsWritten: Int
        /// Peak resident memory of the process (service and emulator share it) during the backfill.
        public var peakResidentMegabytes: Double
        public var bulkJobs: Int
    }

    public struct BackfillResult: Sendable, Codable {
        public var profiles: Int
        public var runs: [BackfillRun]
    }

    public func runBackfill() async throws -> BackfillResult {
        var runs: [BackfillRun] = []
        for path in ["bulk", "collections"] {
            runs.append(try await self.backfill(path: path))
        }
        return BackfillResult(profiles: self.options.profiles, runs: runs)
    }

    private func backfill(path: String) async throws -> BackfillRun {
        let count = self.options.profiles
        return try await SalesforceEmulator.with(EmulatorConfiguration(port: 0, contacts: count), logger: self.logger) { emulator in
            try await BenchService.with(logger: self.logger) { service in
                let admin = EmulatorAdminClient(baseURL: emulator.baseURL)
                try await admin.addLongTextAreaFields(["crm_1_seg__c", "crm_2_seg__c"], to: ["Contact"])
                let connection = try await service.api.connectToEmulator(loginURL: emulator.baseURL, name: "Bench org")
                var body: [String: Any] = ["name": "Backfill (\(path))", "connectionId": connection, "objectType": "Contact"]
                if path == "collections" { body["bulkThreshold"] = NSNull() }
                let created = try await service.api.expect(201, .POST, "/v1/destinations", json: body).object
                guard let destination = created["id"] as? String else { throw BenchFailure("no destination id in \(created)") }
                try await service.api.configureDestination(
                    destination, mappings: ContractClient.mappings(["person.name.firstName": "FirstName", "personalEmail.address": "Email"]),
                    segments: [["segmentId": "seg-gold", "mappingId": "crm_1_seg"], ["segmentId": "seg-active", "mappingId": "crm_2_seg"]],
                    enable: false
                )
                // The stored profiles the backfill evaluates (not measured).
                let ids = Array(emulator.seededContactIds.prefix(count))
                let done = Shared(0)
                try await service.post(BenchProfiles.bodies(ids: ids, size: self.options.bodySize, round: 0), concurrency: self.options.concurrency) { _, _ in
                    let posted = done.withLock { $0 += 1; return $0 }
                    self.progress("store", posted * self.options.bodySize, count)
                }
                ProcessMemory.resetPeak()
                let before = try await admin.stats()
                let started = ContinuousClock.now
                try await service.api.expect(200, .POST, "/v1/destinations/\(destination)/enable")
                let watcher = Task {
                    while !Task.isCancelled {
                        if let view = try? await service.api.expect(200, .GET, "/v1/destinations/\(destination)").object,
                           let backlog = view["backlog"] as? [String: Int] {
                            let left = (backlog["pending"] ?? 0) + (backlog["inFlight"] ?? 0) + (backlog["retrying"] ?? 0)
                            self.progress(path, max(0, count - left), count)
                        }
                        try? await Task.sleep(for: .milliseconds(500))
                    }
                }
                defer { watcher.cancel() }
                try await service.api.waitUntilDelivered(destination, timeout: .seconds(7_200), pollInterval: .milliseconds(50))
                let elapsed = seconds(ContinuousClock.now - started)
                let peak = Double(ProcessMemory.peakResidentBytes() ?? 0) / 1_048_576
                let after = try await admin.stats()
                var calls: [String: Int] = [:]
                for (endpoint, total) in after.callsByEndpoint where endpoint.contains("/jobs/ingest") || endpoint.contains("/composite/sobjects") {
                    let made = total - (before.callsByEndpoint[endpoint] ?? 0)
                    if made > 0 { calls[endpoint] = made }
                }
                let view = try await service.api.expect(200, .GET, "/v1/destinations/\(destination)").object
                return BackfillRun(
                    path: path, records: count, seconds: elapsed, recordsPerSecond: Double(count) / elapsed,
                    apiCalls: calls.values.reduce(0, +), callsByEndpoint: calls,
                    recordsWritten: after.recordsWritten - before.recordsWritten, peakResidentMegabytes: peak,
                    bulkJobs: (view["bulkJobs"] as? [Any])?.count ?? 0
                )
            }
        }
    }
}
