import EmulatorAdminClient
import Foundation
import Logging
import NIOHTTP1
import PostgresStore
import SalesforceEmulator
import SfdestBasics
import SfdestClient
import SfdestRuntime
import Synchronization

/// The service under measurement: the real runtime (store, ingest, delivery, HTTP API) on a free
/// loopback port with a temporary data directory, optionally configured against an emulator.
struct BenchService {
    let api: ContractClient
    let runtime: SfdestRuntime
    let dataDirectory: String

    /// Runs `body` with a started service; stops it and removes its data afterwards.
    static func with<T: Sendable>(
        logger: Logger, configure: (inout SfdestRuntime.Settings) -> Void = { _ in }, _ body: @Sendable (BenchService) async throws -> T
    ) async throws -> T {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-bench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        var settings = SfdestRuntime.Settings(dataDirectory: dataDirectory)
        settings.port = 0
        settings.environment = [:]
        configure(&settings)
        return try await Self.serve(try SfdestRuntime(settings: settings, logger: logger), dataDirectory: dataDirectory, body)
    }

    /// Runs `body` with an `api` runtime on PostgreSQL (`environment` holds the deployment's keys);
    /// its workers are other processes.
    static func withPostgres<T: Sendable>(
        url: PostgresURL, environment: [String: String], logger: Logger, _ body: @Sendable (BenchService) async throws -> T
    ) async throws -> T {
        var settings = SfdestRuntime.Settings(dataDirectory: "")
        settings.port = 0
        settings.environment = environment
        settings.role = .api
        return try await SfdestRuntime.withPostgres(url: url, settings: settings, logger: logger) { runtime in
            try await Self.serve(runtime, dataDirectory: "", body)
        }
    }

    /// Runs the runtime until `body` returns, then stops it.
    private static func serve<T: Sendable>(
        _ runtime: SfdestRuntime, dataDirectory: String, _ body: @Sendable (BenchService) async throws -> T
    ) async throws -> T {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await runtime.run(gracefulShutdownSignals: []) { continuation.yield($0) } }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw BenchFailure("the service did not start") }
            let service = BenchService(api: ContractClient(baseURL: "http://127.0.0.1:\(port)", apiKey: try runtime.keys.requireAPIKey()), runtime: runtime, dataDirectory: dataDirectory)
            do {
                let result = try await body(service)
                await runtime.shutdown()
                return result
            } catch {
                await runtime.shutdown()
                throw error
            }
        }
    }

    /// A connection to the emulator and an enabled Contact destination with the standard mappings
    /// and two audiences; returns the destination's id.
    func configureContactDestination(emulator: RunningEmulator, addFields: Bool = true) async throws -> String {
        if addFields {
            try await EmulatorAdminClient(baseURL: emulator.baseURL).addLongTextAreaFields(["crm_1_seg__c", "crm_2_seg__c"], to: ["Contact"])
        }
        let connection = try await self.api.connectToEmulator(loginURL: emulator.baseURL, name: "Bench org")
        let id = try await self.api.createDestination(connectionId: connection, name: "Bench contacts")
        try await self.api.configureDestination(
            id, mappings: ContractClient.mappings(["person.name.firstName": "FirstName", "personalEmail.address": "Email"]),
            segments: [
                ["segmentId": "seg-gold", "mappingId": "crm_1_seg"],
                ["segmentId": "seg-active", "mappingId": "crm_2_seg"],
                ["segmentId": "seg-churn", "mappingId": "crm_2_seg"],
            ]
        )
        return id
    }

    /// Posts `bodies` and waits until the destination has delivered them: how long to the last
    /// 202 (ingest) and to the last acknowledgement (sync), both from the first byte.
    /// `posted` is called with how many bodies were answered so far.
    func deliver(
        _ bodies: [Data], to destination: String, concurrency: Int, posted: @escaping @Sendable (Int) -> Void = { _ in }
    ) async throws -> (ingest: Duration, sync: Duration) {
        let done = Shared(0)
        let started = ContinuousClock.now
        try await self.post(bodies, concurrency: concurrency) { _, _ in posted(done.withLock { $0 += 1; return $0 }) }
        let ingested = ContinuousClock.now
        try await self.api.waitUntilDelivered(destination, timeout: .seconds(3_600), pollInterval: .milliseconds(20))
        return (ingested - started, ContinuousClock.now - started)
    }

    /// Posts NDJSON bodies, `concurrency` at a time; returns when every one was answered 202.
    /// `answered` is called with each body's index and how long its request took (to the 202).
    func post(_ bodies: [Data], concurrency: Int, answered: @escaping @Sendable (Int, Duration) -> Void = { _, _ in }) async throws {
        let api = self.api
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func add() {
                let index = next
                let body = bodies[index]
                group.addTask {
                    let sent = ContinuousClock.now
                    let answer = try await api.send(.POST, "/v1/profiles", body: body, contentType: "application/x-ndjson")
                    guard answer.status == 202 else { throw BenchFailure("a body was answered \(answer.status): \(answer.object)") }
                    answered(index, ContinuousClock.now - sent)
                }
                next += 1
            }
            while next < min(concurrency, bodies.count) { add() }
            for try await _ in group where next < bodies.count { add() }
        }
    }
}

/// A profile body in the shape a customer-data platform exports, one NDJSON line per profile,
/// built as text (the bench's own cost stays out of the service's figures).
enum BenchProfiles {
    static func body(ids: ArraySlice<String>, round: Int) -> Data {
        var text = ""
        text.reserveCapacity(ids.count * 330)
        for (offset, id) in zip(ids.indices, ids) {
            let status = (offset + round) % 3 == 0 ? "existing" : "realized"
            text += #"{"identityMap":{"crmID":[{"id":"\#(id)"}]},"person":{"name":{"firstName":"First\#(round)","lastName":"Last\#(offset)"}},"personalEmail":{"address":"p\#(offset)@example.com"},"segmentMembership":{"ups":{"seg-gold":{"status":"\#(status)","lastQualificationTime":"2026-11-2\#(round % 10)T10:00:00Z"},"seg-active":{"status":"realized","lastQualificationTime":"2026-11-20T10:00:00Z"}}}}"#
            text += "\n"
        }
        return Data(text.utf8)
    }

    static func bodies(ids: [String], size: Int, round: Int) -> [Data] {
        stride(from: 0, to: ids.count, by: size).map { self.body(ids: ids[$0..<min($0 + size, ids.count)], round: round) }
    }
}

extension EmulatorStats {
    /// sObject Collections update calls since `before`.
    func patchCalls(since before: EmulatorStats) -> Int {
        let patch = "PATCH /composite/sobjects"
        return (self.callsByEndpoint[patch] ?? 0) - (before.callsByEndpoint[patch] ?? 0)
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func seconds(_ duration: Duration) -> Double { duration.inSeconds }

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let rank = min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))
    return sorted[rank]
}

/// A value shared by concurrent tasks of a scenario.
final class Shared<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { self.mutex = Mutex(value) }
    func withLock<T: Sendable>(_ body: (inout Value) -> T) -> T { self.mutex.withLock { body(&$0) } }
}
