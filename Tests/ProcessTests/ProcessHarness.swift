import EmulatorAdminClient
import Foundation
import SalesforceEmulator
import SfdestClient
import SfdestRuntime
import SfdestTestSupport
import Testing

/// The real `sfdest serve` executable on a data directory that outlives its processes, and the
/// emulator (in this process) it delivers to. Used from the test's own task only.
final class ProcessHarness {
    static let apiKey = "sfd_process-tests-fixed-key-7f3a9c21"

    let emulator: RunningEmulator
    let admin: EmulatorAdminClient
    let binary: URL
    let root: String
    let dataDirectory: String
    let environment: [String: String]
    let children: ChildProcesses
    private(set) var current: ServeProcess?
    private(set) var generation = 0
    /// Arguments every `sfdest serve` of this harness gets (`--postgres URL --role api`, say).
    var serveArguments: [String] = []

    init(emulator: RunningEmulator, binary: URL, root: String, environment extra: [String: String], children: ChildProcesses) {
        self.emulator = emulator
        self.admin = EmulatorAdminClient(baseURL: emulator.baseURL)
        self.binary = binary
        self.root = root
        self.dataDirectory = "\(root)/data"
        self.children = children
        var environment = ProcessInfo.processInfo.environment
        environment["SFDEST_MASTER_KEY"] = nil
        environment["SFDEST_DELIVERY_LEASE_SECONDS"] = nil
        environment["SFDEST_SALESFORCE_TIMEOUT_SECONDS"] = nil
        environment["SFDEST_API_KEY"] = Self.apiKey
        environment.merge(extra) { _, new in new }
        self.environment = environment
    }

    /// Runs `body` with the emulator (`contacts` seeded, the two audience fields added) and a fresh
    /// directory; whatever happens, every child is killed and the emulator stopped. The directory
    /// is removed when the test passed, kept (and named) when it did not.
    static func with(
        name: String, contacts: Int, environment: [String: String], deadline: Duration,
        _ body: @escaping @Sendable (ProcessHarness) async throws -> Void
    ) async throws {
        let binary = try SfdestBinary.locate()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-\(name)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let children = ChildProcesses()
        do {
            try await SalesforceEmulator.with(EmulatorConfiguration(port: 0, contacts: contacts)) { emulator in
                try await withDeadline(deadline, "the \(name) test", onTimeout: { children.killAll() }) {
                    let harness = ProcessHarness(emulator: emulator, binary: binary, root: root, environment: environment, children: children)
                    defer { children.killAll() }
                    try await harness.admin.addLongTextAreaFields(["crm_1_seg__c", "crm_2_seg__c"], to: ["Contact"])
                    try await body(harness)
                }
            }
        } catch {
            children.killAll()
            print("ProcessTests \(name): failed; data directory and process logs kept in \(root)")
            throw error
        }
        children.killAll()
        try? FileManager.default.removeItem(atPath: root)
    }

    /// The API of the running process.
    var api: ContractClient {
        ContractClient(baseURL: "http://127.0.0.1:\(self.current?.port ?? 1)", apiKey: Self.apiKey)
    }

    /// Starts `sfdest serve` on the data directory (again); returns once it listens.
    @discardableResult
    func start() async throws -> ServeProcess {
        if let current, !current.hasExited { throw HarnessFailure("sfdest serve generation \(current.generation) still runs") }
        self.generation += 1
        let process = try await ServeProcess.launch(
            binary: self.binary, dataDirectory: self.dataDirectory, environment: self.environment,
            logDirectory: self.root, generation: self.generation, registry: self.children, arguments: self.serveArguments
        )
        self.current = process
        return process
    }

    /// Starts another `sfdest serve` beside the current one (a worker on the same database), with
    /// `arguments`; it is killed with the others at the end.
    func launch(_ number: Int, arguments: [String]) async throws -> ServeProcess {
        try await ServeProcess.launch(
            binary: self.binary, dataDirectory: self.dataDirectory, environment: self.environment,
            logDirectory: self.root, generation: number, registry: self.children, arguments: arguments, logName: "worker"
        )
    }

    /// SIGKILL, then waits for the end (at most 10 s) and insists it was the kill that ended it.
    func killAndWait() async throws {
        guard let current else { throw HarnessFailure("no sfdest serve to kill") }
        current.kill()
        guard let exit = await current.waitForExit(timeout: .seconds(10)) else {
            throw HarnessFailure("sfdest serve generation \(current.generation) still ran 10 s after SIGKILL")
        }
        // It may have died of something else first: that would be a crash of its own.
        #expect(exit.signalled && exit.status == SIGKILL, "generation \(current.generation) ended with \(exit), not by SIGKILL; stderr: \(current.stderrTail())")
    }

    /// What a SIGKILL ended, as observed once the process was gone.
    struct KillObservation: Sendable {
        /// The process ended by SIGKILL (not by a crash of its own first).
        var bySIGKILL: Bool
        /// REST calls the emulator was still serving the moment the process was gone. Nothing
        /// else calls the org's REST API, so they are the dead process's requests in flight to
        /// Salesforce.
        var callsInFlightAtDeath: Int
    }

    /// SIGKILL to `process`; once it has ended, asks the emulator what it is still serving.
    static func kill(_ process: ServeProcess, admin: EmulatorAdminClient) async throws -> KillObservation {
        process.kill()
        guard let exit = await process.waitForExit(timeout: .seconds(10)) else {
            throw HarnessFailure("sfdest serve generation \(process.generation) still ran 10 s after SIGKILL")
        }
        let inFlight = try await admin.stats().restCallsInFlight
        return KillObservation(bySIGKILL: exit.signalled && exit.status == SIGKILL, callsInFlightAtDeath: inFlight)
    }

    /// Fails loudly when the process died without being told to.
    func insistRunning() throws {
        if let current, let exit = current.exitStatus {
            throw HarnessFailure("sfdest serve generation \(current.generation) exited on its own with \(exit); stderr: \(current.stderrTail())")
        }
    }

    // MARK: The contract

    /// A connection to the emulator, a Contact destination with the standard mappings and three
    /// audiences (`seg-gold` alone in crm_1_seg; `seg-a` and `seg-b` sharing crm_2_seg), enabled.
    func configureDestination() async throws -> String {
        let api = self.api
        let connection = try await api.connectToEmulator(loginURL: self.emulator.baseURL)
        let id = try await api.createDestination(connectionId: connection)
        try await api.configureDestination(
            id, mappings: ContractClient.mappings(["person.name.firstName": "FirstName", "personalEmail.address": "Email"]),
            segments: [
                ["segmentId": "seg-gold", "mappingId": "crm_1_seg"],
                ["segmentId": "seg-a", "mappingId": "crm_2_seg"],
                ["segmentId": "seg-b", "mappingId": "crm_2_seg__c"],
            ]
        )
        return id
    }

    enum PostOutcome: Sendable {
        case accepted
        case failed(String)
    }

    /// Posts one NDJSON body to `process`. Accepted means 202 with every line accepted; anything
    /// else (no answer because the process died, a refusal while it stops) means the client must
    /// resend. Gives up as soon as the process has ended (the HTTP client would otherwise keep
    /// trying to connect until its timeout).
    static func post(_ body: ProfileBody, to api: ContractClient, serving process: ServeProcess) async -> PostOutcome {
        await withTaskGroup(of: PostOutcome?.self) { group in
            group.addTask { await Self.post(body, to: api) }
            group.addTask {
                while !process.hasExited {
                    guard (try? await Task.sleep(for: .milliseconds(20))) != nil else { return nil }
                }
                // Let an answer already on its way win.
                try? await Task.sleep(for: .milliseconds(100))
                return .failed("sfdest serve generation \(process.generation) ended")
            }
            var outcome: PostOutcome = .failed("no answer")
            for await case let result? in group {
                outcome = result
                break
            }
            group.cancelAll()
            return outcome
        }
    }

    static func post(_ body: ProfileBody, to api: ContractClient) async -> PostOutcome {
        do {
            let answer = try await api.send(.POST, "/v1/profiles", body: body.data, contentType: "application/x-ndjson", timeout: .seconds(30))
            guard answer.status == 202 else { return .failed("answered \(answer.status)") }
            let accepted = answer.object["accepted"] as? Int
            let rejected = answer.object["rejected"] as? [Any]
            // A 202 is acceptance: a short count is a product bug, not a reason to resend.
            #expect(accepted == body.fragments.count && rejected?.isEmpty == true, "round \(body.round) body \(body.index): \(String(describing: answer.json))")
            return .accepted
        } catch {
            return .failed("\(error)")
        }
    }

    /// The destination's backlog and whether it is settled (nothing queued, in flight or retrying,
    /// no backfill, every run window completed).
    func deliveryState(_ destinationId: String) async throws -> (queued: Int, inFlight: Int, settled: Bool, summary: String) {
        let api = self.api
        let destination = try await api.expect(200, .GET, "/v1/destinations/\(destinationId)").object
        let backlog = destination["backlog"] as? [String: Int] ?? [:]
        let inFlight = backlog["inFlight"] ?? 0
        let queued = (backlog["pending"] ?? 0) + inFlight + (backlog["retrying"] ?? 0)
        let runs = try await api.expect(200, .GET, "/v1/destinations/\(destinationId)/runs").array
        let open = runs.filter { $0["status"] as? String != "completed" }.count
        let settled = queued == 0 && destination["backfill"] as? Bool != true && open == 0
        let summary = "backlog \(backlog), backfill \(destination["backfill"] ?? "?"), delivery \(destination["delivery"] ?? "?"), runs not completed \(open) of \(runs.count)"
        return (queued, inFlight, settled, summary)
    }

    /// Waits until everything accepted is delivered and every run window is completed.
    func waitUntilDelivered(_ destinationId: String, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        var last = ""
        while ContinuousClock.now < deadline {
            try self.insistRunning()
            let state = try await self.deliveryState(destinationId)
            if state.settled { return }
            last = state.summary
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HarnessFailure("destination \(destinationId) not settled after \(timeout): \(last); stderr: \(self.current?.stderrTail() ?? "")")
    }

    func patchCalls() async throws -> Int {
        try await self.admin.stats().callsByEndpoint["PATCH /composite/sobjects"] ?? 0
    }

    /// Compares every record of the org with what the test expects, field by field.
    func mismatches(against expected: ExpectedOrg) async throws -> (checked: Int, mismatches: [String]) {
        let admin = self.admin
        let ids = expected.records.keys.sorted()
        return try await withThrowingTaskGroup(of: (checked: Int, mismatches: [String]).self) { group in
            let lanes = 8
            for lane in 0..<lanes {
                let mine = stride(from: lane, to: ids.count, by: lanes).map { ids[$0] }
                group.addTask {
                    var checked = 0
                    var found: [String] = []
                    for id in mine {
                        guard let want = expected.records[id] else { continue }
                        guard let record = try await admin.record(id) else {
                            found.append("\(id): the record is gone from the org")
                            continue
                        }
                        for (name, value) in want.fields {
                            let have = record[name] as? String
                            // No line for a shared field: empty or absent are the same.
                            let same = value == nil ? (have == nil || have == "") : have == value
                            if !same {
                                found.append("\(id).\(name): expected \(value.map { "\"\($0)\"" } ?? "nothing"), Salesforce has \(have.map { "\"\($0)\"" } ?? "nothing")")
                            }
                        }
                        checked += 1
                    }
                    return (checked, found)
                }
            }
            var checked = 0
            var found: [String] = []
            for try await lane in group {
                checked += lane.checked
                found += lane.mismatches
            }
            return (checked, found.sorted())
        }
    }
}
