import AsyncHTTPClient
import Delivery
import Foundation
import GRDB
import Ingest
import Logging
import Server
import ServiceLifecycle
import Store
import Synchronization
import SfdestTestSupport
import SfdestClient
import Testing

/// A second connection to the service's SQLite file, as another process would hold one.
struct SecondConnection {
    let queue: DatabaseQueue

    init(path: String) throws {
        var configuration = Configuration()
        configuration.allowsUnsafeTransactions = true
        configuration.busyMode = .timeout(30)
        self.queue = try DatabaseQueue(path: path, configuration: configuration)
    }

    /// Takes the database's write lock and keeps it until `release`.
    func holdWriteLock() throws {
        try self.queue.inDatabase { db in try db.execute(sql: "BEGIN IMMEDIATE") }
    }

    func release() throws {
        try self.queue.inDatabase { db in try db.execute(sql: "ROLLBACK") }
    }

    /// Grows the database with filler rows until it reaches `maxPageCount` pages: it is full.
    func fill(upTo maxPageCount: Int) throws {
        try self.queue.inDatabase { db in
            try db.execute(sql: "PRAGMA max_page_count = \(maxPageCount)")
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS filler (b BLOB)")
            for size in [65_536, 4_096, 512, 64, 1] {
                while true {
                    do {
                        try db.execute(sql: "INSERT INTO filler (b) VALUES (zeroblob(?))", arguments: [size])
                    } catch let error as DatabaseError where error.resultCode == .SQLITE_FULL {
                        break
                    }
                }
            }
        }
    }

    /// Deletes the filler: its pages become free for the service to reuse.
    func freeSpace() throws {
        try self.queue.inDatabase { db in try db.execute(sql: "DELETE FROM filler") }
    }

    func pageCount() throws -> Int {
        try self.queue.inDatabase { db in try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0 }
    }
}

/// Profiles of their own identities, with enough text that storing them needs new pages.
func storableProfiles(_ count: Int, prefix: String) -> Data {
    let profiles: [[String: Any]] = (0..<count).map { index in
        [
            "identityMap": ["email": [["id": "\(prefix)-\(index)@example.com"]]],
            "person": ["name": ["lastName": "Stored \(index)", "bio": String(repeating: "x", count: 2_000)]],
        ]
    }
    return jsonText(profiles)
}

@Suite("Storage trouble and overload")
struct StorageTroubleTests {
    @Test func aFullDatabaseAnswers503WithRetryAfterAndTheSameRequestSucceedsOnceSpaceIsFree() async throws {
        var limits = SQLiteStore.Limits()
        limits.maxPageCount = 2_000
        try await FuzzService.with(storeLimits: limits) { service in
            // setup: another connection fills the database to its size limit
            let second = try SecondConnection(path: service.databasePath)
            try second.fill(upTo: 2_000)
            #expect(try second.pageCount() == 2_000)
            let body = storableProfiles(50, prefix: "full")

            // run
            let refused = try await service.client.send(.POST, "/v1/profiles", body: body, contentType: "application/json")
            let storedWhileFull = try await service.store.profileCount()
            try second.freeSpace()
            let accepted = try await service.client.send(.POST, "/v1/profiles", body: body, contentType: "application/json")

            // validate
            #expect(refused.status == 503, "\(refused.text)")
            #expect(refused.headers.first(name: "Retry-After").flatMap(Int.init).map { $0 > 0 } == true)
            #expect(refused.errorCode == "unavailable")
            #expect(refused.errorMessage.contains("cannot grow"), "\(refused.errorMessage)")
            #expect(storedWhileFull == 0, "nothing of the refused body was kept")
            #expect(accepted.status == 202, "\(accepted.text)")
            #expect(accepted.object["accepted"] as? Int == 50)
            #expect(try await service.store.profileCount() == 50)
            let lines = service.logs.all.filter { $0.contains("/v1/profiles") || $0.contains("storing profiles") }
            let notServed = lines.filter { $0.hasPrefix("warning request not served") && $0.contains("503") }
            #expect(notServed.count == 1, "the 503 is logged once: \(lines)")
            #expect(!service.logs.all.contains { $0.hasPrefix("error") && $0.contains("/v1/profiles") }, "not logged as an error")
            #expect(!service.logs.all.contains { $0.contains("internal_error") })
        }
    }

    @Test func aDatabaseBusyPastItsTimeoutAnswers503AndTheSameRequestSucceedsOnceTheLockIsGone() async throws {
        var limits = SQLiteStore.Limits()
        limits.busyTimeout = 0.2
        try await FuzzService.with(storeLimits: limits) { service in
            // setup: another connection holds the write lock
            let second = try SecondConnection(path: service.databasePath)
            try second.holdWriteLock()
            let body = storableProfiles(20, prefix: "busy")

            // run
            let refused = try await service.client.send(.POST, "/v1/profiles", body: body, contentType: "application/json")
            let storedWhileBusy = try await service.store.profileCount()
            try second.release()
            let accepted = try await service.client.send(.POST, "/v1/profiles", body: body, contentType: "application/json")

            // validate
            #expect(refused.status == 503, "\(refused.text)")
            #expect(refused.headers.first(name: "Retry-After").flatMap(Int.init).map { $0 > 0 } == true)
            #expect(refused.errorCode == "unavailable")
            #expect(refused.errorMessage.contains("busy"), "\(refused.errorMessage)")
            #expect(storedWhileBusy == 0)
            #expect(accepted.status == 202, "\(accepted.text)")
            #expect(accepted.object["accepted"] as? Int == 20)
            #expect(try await service.store.profileCount() == 20)
            let notServed = service.logs.all.filter { $0.hasPrefix("warning request not served") && $0.contains("/v1/profiles") }
            #expect(notServed.count == 1, "the 503 is logged once: \(notServed)")
            #expect(!service.logs.all.contains { $0.hasPrefix("error") && $0.contains("/v1/profiles") })
        }
    }

    @Test func aFullIngestQueueAnswers503WithRetryAfter() async throws {
        // setup: a pipeline that holds at most 10 waiting profiles, over a store whose writer is
        // blocked by another connection (so the first batch cannot finish and the queue fills)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-queue-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("sfdest.sqlite").path
        let logs = CapturedLogs()
        let logger = logs.logger(label: "sfdest.queue", level: .debug)
        var limits = SQLiteStore.Limits()
        limits.busyTimeout = 120
        let store = try SQLiteStore(path: path, secrets: try SecretBox(base64Key: SecretBox.generateKey()), limits: limits)
        let clients = SalesforceClients(store: store, httpClient: .shared, logger: logger)
        let ingest = IngestPipeline(store: store, logger: logger, maxWaitingProfiles: 10)
        let delivery = DeliveryService(store: store, clients: clients, logger: logger)
        let services = SfdestServices(store: store, ingest: ingest, delivery: delivery, clients: clients, httpClient: .shared)
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        var settings = ServerSettings(host: "127.0.0.1", port: 0, apiKeys: ["queue-test-key"])
        settings.onListening = { port in portContinuation.yield(port) }
        let app = buildApplication(settings: settings, services: services, logger: logger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [ingest, app], gracefulShutdownSignals: [], logger: logger))
        let second = try SecondConnection(path: path)

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            let client = ContractClient(baseURL: "http://127.0.0.1:\(port)", apiKey: "queue-test-key")
            try second.holdWriteLock()
            let bodies = (0..<3).map { storableProfiles(6, prefix: "queue-\($0)") }

            // run: three bodies of 6 profiles. One batch at most is stuck in the store and the
            // queue holds one more body at most, so at least one request is refused at once
            // while the queued ones wait for the lock
            var answers: [Int: ContractClient.Answer] = [:]
            var firstAnswered: Int?
            try await withThrowingTaskGroup(of: (Int, ContractClient.Answer).self) { requests in
                for (index, body) in bodies.enumerated() {
                    requests.addTask { (index, try await client.send(.POST, "/v1/profiles", body: body, contentType: "application/json")) }
                }
                let (index, answer) = try #require(try await requests.next())
                firstAnswered = index
                answers[index] = answer
                try second.release()
                while let (index, answer) = try await requests.next() { answers[index] = answer }
            }
            let refusedIndexes = answers.filter { $0.value.status == 503 }.keys.sorted()
            var retried: [ContractClient.Answer] = []
            for index in refusedIndexes {
                retried.append(try await client.send(.POST, "/v1/profiles", body: bodies[index], contentType: "application/json"))
            }

            // validate
            #expect(answers[try #require(firstAnswered)]?.status == 503, "the first answer is the refusal, not a wait")
            #expect(!refusedIndexes.isEmpty && refusedIndexes.count < 3, "\(answers.mapValues(\.status))")
            for (index, answer) in answers {
                if answer.status == 503 {
                    #expect(answer.headers.first(name: "Retry-After") == "1")
                    #expect(answer.errorCode == "unavailable")
                    #expect(answer.errorMessage.contains("busy storing earlier profiles"), "\(answer.errorMessage)")
                } else {
                    #expect(answer.status == 202, "body \(index): \(answer.text)")
                    #expect(answer.object["accepted"] as? Int == 6)
                }
            }
            #expect(retried.allSatisfy { $0.status == 202 && $0.object["accepted"] as? Int == 6 }, "\(retried.map(\.text))")
            #expect(try await store.profileCount() == 18)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}
