import AsyncHTTPClient
import EmulatorAdminClient
import Foundation
import Logging
import NIOHTTP1
import SalesforceEmulator
import SfdestBasics
import SfdestCLI
import SfdestClient
import SfdestRuntime

/// `sfdest demo`: the emulator and the service in one process on free loopback ports, driven
/// through the HTTP contract exactly as a user would, then checked record by record.
public struct Demo: Sendable {
    public struct Options: Sendable {
        public var profiles = 10_000
        public var leads = 20
        public var bodySize = 1_000
        public var resend = 1_000
        public var timeout: Duration = .seconds(600)
        /// The service's port (0: one the OS picks).
        public var port = 0
        /// `--ui`: after the demo, called with its report, the web UI's URL and the API key; the
        /// service and the emulator keep running until it returns.
        public var holdOpen: (@Sendable (Report, _ uiURL: String, _ apiKey: String) async -> Void)?
        public init() {}
    }

    /// What the demo measured.
    public struct Report: Sendable {
        public var profilesStreamed = 0
        public var seconds = 0.0
        public var received = 0, activated = 0, unchanged = 0, excluded = 0, failed = 0
        public var changedRecords = 0
        public var apiCalls = 0
        public var collectionCalls = 0
        public var minimumCalls: Int { (self.changedRecords + 199) / 200 }
        public var resendCalls = 0
        public var mismatches: [String] = []
        public var sampleRecords: [[String: String]] = []
        public var ok: Bool { self.mismatches.isEmpty && self.failed == 0 && self.resendCalls == 0 }
    }

    let options: Options
    let logger: Logger
    let print: @Sendable (String) -> Void

    public init(options: Options = Options(), logger: Logger, print: @escaping @Sendable (String) -> Void) {
        self.options = options
        self.logger = logger
        self.print = print
    }

    public func run() async throws -> Report {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-demo-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        return try await SalesforceEmulator.with(EmulatorConfiguration(port: 0, contacts: self.options.profiles, leads: self.options.leads), logger: self.logger) { emulator in
            try await self.run(emulator: emulator, dataDirectory: dataDirectory)
        }
    }

    private func run(emulator: RunningEmulator, dataDirectory: String) async throws -> Report {
        let admin = EmulatorAdminClient(baseURL: emulator.baseURL)
        try await admin.addLongTextAreaFields(["crm_1_seg__c", "crm_2_seg__c"], to: ["Contact"])
        self.print("Salesforce emulator on \(emulator.baseURL): \(emulator.seededContactIds.count) Contacts, \(emulator.seededLeadIds.count) Leads, fields crm_1_seg__c and crm_2_seg__c")

        var settings = SfdestRuntime.Settings(dataDirectory: dataDirectory)
        settings.port = self.options.port
        settings.environment = [:]
        let runtime = try SfdestRuntime(settings: settings, logger: self.logger)
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await runtime.run(gracefulShutdownSignals: []) { port in portContinuation.yield(port) }
            }
            var ports = portStream.makeAsyncIterator()
            guard let port = await ports.next() else { throw ContractClient.Failure(description: "the service did not start") }
            let api = ContractClient(baseURL: "http://127.0.0.1:\(port)", apiKey: try runtime.keys.requireAPIKey())
            self.print("sfdest service on \(api.baseURL) (data dir \(dataDirectory))")
            do {
                let report = try await self.drive(api: api, admin: admin, emulator: emulator)
                if let holdOpen = self.options.holdOpen {
                    await holdOpen(report, "\(api.baseURL)/ui/", try runtime.keys.requireAPIKey())
                }
                await runtime.shutdown()
                return report
            } catch {
                await runtime.shutdown()
                throw error
            }
        }
    }

    private func drive(api: ContractClient, admin: EmulatorAdminClient, emulator: RunningEmulator) async throws -> Report {
        // Configure through the contract.
        let connectionId = try await api.connectToEmulator(loginURL: emulator.baseURL, name: "Demo org")
        let destinationId = try await api.createDestination(connectionId: connectionId, name: "Sales contacts")
        try await api.configureDestination(
            destinationId,
            mappings: ContractClient.mappings(["person.name.firstName": "FirstName", "personalEmail.address": "Email"]),
            segments: [
                ["segmentId": "seg-gold", "mappingId": "crm_1_seg", "startDate": "2026-11-01"],
                ["segmentId": "seg-active", "mappingId": "crm_2_seg"],
                ["segmentId": "seg-churn", "mappingId": "crm_2_seg__c"],
            ]
        )
        self.print("Connected, destination \(destinationId) enabled: Contact, 4 mappings, 3 audiences (seg-gold -> crm_1_seg__c; seg-active and seg-churn share crm_2_seg__c)")

        // Stream the profiles as NDJSON bodies.
        let generated = DemoProfiles(contactIds: emulator.seededContactIds, leadIds: emulator.seededLeadIds)
        let statsBefore = try await admin.stats()
        let started = ContinuousClock.now
        let progress = ProgressLine(label: "streaming profiles")
        var streamed = 0
        for chunk in stride(from: 0, to: generated.people.count, by: self.options.bodySize) {
            let people = generated.people[chunk..<min(chunk + self.options.bodySize, generated.people.count)]
            let answer = try await self.post(people, api: api)
            streamed += answer
            progress.update(done: streamed, total: generated.people.count)
        }
        progress.finish()
        try await api.waitUntilDelivered(destinationId, timeout: self.options.timeout, pollInterval: .milliseconds(100))
        var report = Report()
        report.seconds = (ContinuousClock.now - started).inSeconds
        report.profilesStreamed = streamed
        let statsAfter = try await admin.stats()
        report.apiCalls = statsAfter.apiCalls - statsBefore.apiCalls
        report.collectionCalls = (statsAfter.callsByEndpoint["PATCH /composite/sobjects"] ?? 0) - (statsBefore.callsByEndpoint["PATCH /composite/sobjects"] ?? 0)
        report.changedRecords = generated.people.filter { DemoProfiles.expectedFields($0) != nil }.count

        // The same profiles again: nothing changed, so no call may be made.
        let resend = Array(generated.people.prefix(self.options.resend))
        _ = try await self.post(resend[...], api: api)
        try await api.waitUntilDelivered(destinationId, timeout: self.options.timeout, pollInterval: .milliseconds(100))
        let statsResent = try await admin.stats()
        report.resendCalls = (statsResent.callsByEndpoint["PATCH /composite/sobjects"] ?? 0) - (statsAfter.callsByEndpoint["PATCH /composite/sobjects"] ?? 0)
        self.print("Resent \(resend.count) unchanged profiles: \(report.resendCalls) API calls")

        // The run counters, through the contract.
        for run in try await api.expect(200, .GET, "/v1/destinations/\(destinationId)/runs").array {
            report.received += run["profilesReceived"] as? Int ?? 0
            report.activated += run["identitiesActivated"] as? Int ?? 0
            report.unchanged += run["identitiesUnchanged"] as? Int ?? 0
            report.excluded += run["identitiesExcluded"] as? Int ?? 0
            report.failed += run["identitiesFailed"] as? Int ?? 0
        }

        // Every record, field by field, against what was sent.
        let check = ProgressLine(label: "checking records  ")
        for (index, person) in generated.people.enumerated() {
            check.update(done: index + 1, total: generated.people.count)
            guard let record = try await admin.record(person.recordId) else {
                report.mismatches.append("\(person.recordId): missing in the org")
                continue
            }
            if let expected = DemoProfiles.expectedFields(person) {
                for (field, value) in expected where (record[field] as? String) != value {
                    report.mismatches.append("\(person.recordId).\(field): Salesforce holds \(record[field] ?? "null"), expected \(value ?? "null")")
                }
                if report.sampleRecords.count < 3 {
                    report.sampleRecords.append(Dictionary(uniqueKeysWithValues: (["Id"] + expected.keys.sorted()).map { ($0, (record[$0] as? String) ?? "null") }))
                }
            } else if !person.isLead, record["crm_1_seg__c"] as? String != nil || record["crm_2_seg__c"] as? String != nil {
                report.mismatches.append("\(person.recordId): in no audience, yet its status fields were written")
            }
        }
        check.finish()
        return report
    }

    /// Posts one NDJSON body and returns how many profiles were accepted.
    private func post(_ people: ArraySlice<DemoProfiles.Person>, api: ContractClient) async throws -> Int {
        let answer = try await api.postProfiles(people.map(DemoProfiles.xdm))
        return answer.object["accepted"] as? Int ?? 0
    }

}
