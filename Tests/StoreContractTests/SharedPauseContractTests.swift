import Delivery
import EmulatorAdminClient
import Foundation
import Logging
import SalesforceAPI
import SalesforceEmulator
import Store
import Testing

/// A connection's pause shared by the processes of a deployment, the same on every backend: one
/// process meets the org's limit and saves the pause, the others wait without a call of their
/// own (each `DeliveryService` here stands for one process).
@Suite("Store contract: connection pauses shared by processes")
struct SharedPauseContractTests {
    typealias Q = DeliveryQueueContractTests

    @Test(arguments: Backend.available)
    func aPauseIsKeptPerConnectionEndsWhenItRanOutAndGoesWithTheConnection(_ backend: Backend) async throws {
        try await backend.withStore { store in
            try await store.saveConnection(SharedSessionContractTests.connection(loginURL: "http://127.0.0.1:1"))
            #expect(try await store.connectionPauses().isEmpty)
            let until = Q.t0.addingTimeInterval(60)
            try await store.savePause(ConnectionPause(connectionId: "conn-1", kind: .apiLimit, reason: "REQUEST_LIMIT_EXCEEDED", until: until))
            try await store.savePause(ConnectionPause(connectionId: "conn-1", kind: .credentialsRefused, reason: "refused", until: until, refusals: 3))
            #expect(try await store.connectionPauses() == [
                ConnectionPause(connectionId: "conn-1", kind: .credentialsRefused, reason: "refused", until: until, refusals: 3),
            ])
            // Another process's newer pause stays when this one's batch went through before it ended.
            try await store.clearPause(connectionId: "conn-1", ranOutBy: Q.t0.addingTimeInterval(59))
            #expect(try await store.connectionPauses().count == 1)
            try await store.clearPause(connectionId: "conn-1", ranOutBy: until)
            #expect(try await store.connectionPauses().isEmpty)
            // Cleared whatever its end (new credentials), and deleted with its connection.
            try await store.savePause(ConnectionPause(connectionId: "conn-1", kind: .apiBudget, reason: "budget", until: until))
            try await store.clearPause(connectionId: "conn-1", ranOutBy: nil)
            #expect(try await store.connectionPauses().isEmpty)
            try await store.savePause(ConnectionPause(connectionId: "conn-1", kind: .apiBudget, reason: "budget", until: until))
            #expect(try await store.deleteConnection(id: "conn-1"))
            #expect(try await store.connectionPauses().isEmpty)
        }
    }

    /// Two delivery services on one store and one org, sharing pauses as processes on PostgreSQL do.
    struct Deployment {
        let store: any ContractStore
        let emulator: RunningEmulator
        let admin: EmulatorAdminClient
        let logger: Logger

        func process(_ configure: (inout DeliveryOptions) -> Void = { _ in }) -> DeliveryService {
            var options = DeliveryOptions()
            options.pollInterval = .milliseconds(20)
            options.linger = .milliseconds(10)
            configure(&options)
            let clients = SalesforceClients(store: self.store, httpClient: .shared, logger: self.logger, sharesSessions: true)
            return DeliveryService(store: self.store, clients: clients, logger: self.logger, options: options, sharesPauses: true)
        }

        /// Nothing of the destination waits or is in flight.
        func settled() async throws -> Bool {
            let backlog = try await self.store.backlog(destinationId: "dest-1")
            return backlog.pending + backlog.inFlight + backlog.retrying == 0
        }

        func queue(_ ids: ArraySlice<String>, lastName: String) async throws {
            _ = try await self.store.ingest(ids.map { Q.profile($0, lastName: lastName) }, into: [try Q.destination()], at: Date())
        }

        static func with(_ backend: Backend, contacts: Int, bulkThreshold: Int? = nil, _ body: (Deployment) async throws -> Void) async throws {
            var logger = Logger(label: "shared-pauses")
            logger.logLevel = .critical
            try await SalesforceEmulator.with(EmulatorConfiguration(port: 0, contacts: contacts), logger: logger) { emulator in
                let admin = EmulatorAdminClient(baseURL: emulator.baseURL)
                try await admin.addLongTextAreaFields(["crm_1_seg__c"], to: ["Contact"])
                try await backend.withStore { store in
                    try await store.saveConnection(SharedSessionContractTests.connection(loginURL: emulator.baseURL))
                    try await store.saveDestination(Destination(
                        id: "dest-1", name: "d", description: "", connectionId: "conn-1", objectType: .contact, status: .enabled,
                        createdAt: Q.t0, updatedAt: Q.t0, bulkThreshold: bulkThreshold
                    ))
                    try await body(Deployment(store: store, emulator: emulator, admin: admin, logger: logger))
                }
            }
        }
    }

    /// Runs the services until `body` returns, then stops them.
    static func running<T: Sendable>(_ services: [DeliveryService], _ body: () async throws -> T) async throws -> T {
        let tasks = services.map { service in Task { try await service.run() } }
        defer { tasks.forEach { $0.cancel() } }
        let result = try await body()
        for task in tasks {
            task.cancel()
            _ = try? await task.value
        }
        return result
    }

    static func eventually(_ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("timed out waiting until \(what)")
        throw CancellationError()
    }

    @Test(arguments: Backend.available)
    func whenOneProcessMeetsTheOrgsLimitTheOthersWaitWithoutACallOfTheirOwn(_ backend: Backend) async throws {
        try await Deployment.with(backend, contacts: 20) { deployment in
            let ids = deployment.emulator.seededContactIds
            let used = try await deployment.admin.stats().apiUsed
            try await deployment.admin.setFaults(["apiLimit": Double(used + 1000), "apiUsed": Double(used + 1000)])
            // The refusal reports the allowance used up, so the budget pauses too once the limit
            // pause ends: it is read again soon.
            let options: (inout DeliveryOptions) -> Void = { $0.throttlePause = 3_600; $0.apiBudgetRecheck = 0.2 }
            let first = deployment.process(options)
            let second = deployment.process(options)

            // The first process meets the limit: its pause is kept for the others.
            try await deployment.queue(ids.prefix(10), lastName: "Throttled")
            try await Self.running([first]) {
                try await Self.eventually("the first process is paused") { await first.status(of: "dest-1").name == "paused_api_limit" }
                try await Self.eventually("its pause is shared") { try await !deployment.store.connectionPauses().isEmpty }
                let refusedBefore = try await deployment.admin.stats().faultsStruck.requestLimitExceeded
                #expect(refusedBefore >= 1)
                let shared = try #require(try await deployment.store.connectionPauses().first)
                #expect(shared.kind == .apiLimit)
                #expect(shared.reason.contains("REQUEST_LIMIT_EXCEEDED"), "\(shared.reason)")

                // The second starts with changes due: it waits out the same pause without asking the org.
                try await deployment.queue(ids.suffix(10), lastName: "Throttled")
                try await Self.running([second]) {
                    try await Self.eventually("the second process shows the pause") { await second.status(of: "dest-1").name == "paused_api_limit" }
                    try await Task.sleep(for: .seconds(1))
                    let stats = try await deployment.admin.stats()
                    #expect(stats.faultsStruck.requestLimitExceeded == refusedBefore, "the second process asked the org itself")
                    #expect(stats.recordsWritten == 0)
                    #expect(await second.status(of: "dest-1").reason?.contains("REQUEST_LIMIT_EXCEEDED") == true)

                    // The allowance is back and the destination is enabled again in one process
                    // (the other hears of it by a signal): both deliver.
                    try await deployment.admin.setFaults(["apiUsed": 0])
                    await first.destinationChanged("dest-1")
                    #expect(try await deployment.store.connectionPauses().isEmpty)
                    await second.destinationChanged("dest-1", heardBySignal: true)
                    try await Self.eventually("every record is delivered") {
                        let settled = try await deployment.settled()
                        let written = try await deployment.admin.stats().recordsWritten
                        return settled && written >= 20
                    }
                }
            }
            for id in ids {
                #expect(try await deployment.admin.record(id)?["LastName"] as? String == "Throttled")
            }
        }
    }

    @Test(arguments: Backend.available)
    func oneProcessReadsTheBudgetAgainAndTheOthersFollowWhatItFinds(_ backend: Backend) async throws {
        try await Deployment.with(backend, contacts: 20) { deployment in
            let ids = deployment.emulator.seededContactIds
            // 79 of 100 calls used: the first write reaches the 80% budget.
            try await deployment.admin.setFaults(["apiLimit": 100, "apiUsed": 79])
            let options: (inout DeliveryOptions) -> Void = { $0.apiBudgetRecheck = 0.2; $0.batchSize = 10; $0.concurrentRequests = 1; $0.maxConcurrentRequests = 1 }
            let first = deployment.process(options)
            let second = deployment.process(options)
            // Another process holds the turn to read the usage again: neither of these may read it.
            #expect(try await deployment.store.takeTurn("budget:conn-1", holder: 42, lease: 3_600, now: Date()))
            // Two batches: the first is written, the second finds the budget reached.
            try await deployment.queue(ids[...], lastName: "Budgeted")
            try await Self.running([first]) {
                try await Self.eventually("the first process pauses on the budget") { await first.status(of: "dest-1").name == "paused_api_budget" }
                try await Self.eventually("its pause is shared") { try await deployment.store.connectionPauses().first?.kind == .apiBudget }
                try await Self.running([second]) {
                    try await Self.eventually("the second process shows the pause") { await second.status(of: "dest-1").name == "paused_api_budget" }
                    // Five rechecks' worth of time.
                    try await Task.sleep(for: .seconds(1))
                    var stats = try await deployment.admin.stats()
                    #expect(stats.callsByEndpoint["GET /limits"] == nil, "a process read the usage while another held the turn")
                    #expect(stats.recordsWritten == 10)

                    // The holder found that the usage allows and ended the pause: both resume with
                    // no reading of their own, and the usage the first saw last does not pause it again.
                    try await deployment.admin.setFaults(["apiLimit": 15_000, "apiUsed": 0])
                    try await deployment.store.clearPause(connectionId: "conn-1", ranOutBy: nil)
                    try await deployment.store.releaseTurn("budget:conn-1", holder: 42)
                    try await Self.eventually("every record is delivered") {
                        let settled = try await deployment.settled()
                        let written = try await deployment.admin.stats().recordsWritten
                        return settled && written >= 20
                    }
                    try await Task.sleep(for: .milliseconds(500))
                    stats = try await deployment.admin.stats()
                    #expect(stats.callsByEndpoint["GET /limits"] == nil, "a process read the usage the holder had read")
                    #expect(try await deployment.store.connectionPauses().isEmpty)
                }
            }
            for id in ids {
                #expect(try await deployment.admin.record(id)?["LastName"] as? String == "Budgeted")
            }
        }
    }

    @Test(arguments: Backend.available)
    func aBackoffOneProcessMeetsIsShownByTheOthersAndEndsWhenABatchGoesThrough(_ backend: Backend) async throws {
        try await Deployment.with(backend, contacts: 10) { deployment in
            let ids = deployment.emulator.seededContactIds
            #expect(try await deployment.store.deliveryBackoff(destinationId: "dest-1") == nil)
            try await deployment.admin.setFaults(["serverUnavailableRate": 1])
            // Backoffs of 3 s, long enough to be seen while they last.
            let worker = deployment.process { $0.backoffBase = 3; $0.backoffCap = 3 }
            // An `api` process: it delivers nothing and shows what the store shares.
            let api = deployment.process()
            #expect(await api.status(of: "dest-1").name == "idle")
            try await deployment.queue(ids[...], lastName: "Retried")
            try await Self.running([worker]) {
                try await Self.eventually("the worker backs off") { await worker.status(of: "dest-1").name == "backing_off" }
                let own = try #require(await worker.status(of: "dest-1").reason)
                let stored = try #require(try await deployment.store.deliveryBackoff(destinationId: "dest-1"))
                #expect(stored.reason == own)
                #expect(stored.until > Date() && stored.until <= Date().addingTimeInterval(3 * 1.2 + 1), "\(stored.until)")
                // The api process shows the worker's backoff and its reason.
                let shown = await api.status(of: "dest-1")
                #expect(shown.name == "backing_off")
                #expect(shown.reason == own)

                // Salesforce is back: the worker's next batch goes through and ends the backoff for all.
                try await deployment.admin.setFaults(["serverUnavailableRate": 0])
                try await Self.eventually("every record is delivered") {
                    let settled = try await deployment.settled()
                    let written = try await deployment.admin.stats().recordsWritten
                    return settled && written >= ids.count
                }
                #expect(try await deployment.store.deliveryBackoff(destinationId: "dest-1") == nil)
                #expect(await api.status(of: "dest-1").name == "idle")
            }
            // A backoff that ran out is not shown, and one that lasts goes with its destination.
            try await deployment.store.saveBackoff(DeliveryBackoff(destinationId: "dest-1", reason: "old", until: Date().addingTimeInterval(-1)))
            #expect(await api.status(of: "dest-1").name == "idle")
            try await deployment.store.saveBackoff(DeliveryBackoff(destinationId: "dest-1", reason: "lasting", until: Date().addingTimeInterval(600)))
            #expect(await api.status(of: "dest-1").reason == "lasting")
            // Enabling it again (a person's change) ends it for every process.
            await api.destinationChanged("dest-1")
            #expect(try await deployment.store.deliveryBackoff(destinationId: "dest-1") == nil)
            try await deployment.store.saveBackoff(DeliveryBackoff(destinationId: "dest-1", reason: "lasting", until: Date().addingTimeInterval(600)))
            var destination = try #require(try await deployment.store.destination(id: "dest-1"))
            destination.status = .disabled
            try await deployment.store.saveDestination(destination)
            #expect(try await deployment.store.deleteDestination(id: "dest-1"))
            #expect(try await deployment.store.deliveryBackoff(destinationId: "dest-1") == nil)
            for id in ids {
                #expect(try await deployment.admin.record(id)?["LastName"] as? String == "Retried")
            }
        }
    }

    @Test(arguments: Backend.available)
    func oneProcessAtATimeSendsADestinationsBulkLane(_ backend: Backend) async throws {
        try await Deployment.with(backend, contacts: 30, bulkThreshold: 10) { deployment in
            let ids = deployment.emulator.seededContactIds
            // Stored first, then backfilled past the threshold: the records wait in the bulk lane.
            _ = try await deployment.store.ingest(ids.map { Q.profile($0, lastName: "Bulk") }, into: [], at: Date())
            try await deployment.store.startBackfill(destinationId: "dest-1")
            let progress = try await deployment.store.backfill(try Q.destination(), after: 0, limit: 100, at: Date())
            #expect(progress.counts.queued == ids.count)
            #expect(try await deployment.store.bulkWork(destinationId: "dest-1").laneReady)

            let processes = [deployment.process(), deployment.process()]
            try await Self.running(processes) {
                try await Self.eventually("the lane is sent") {
                    let settled = try await deployment.settled()
                    let written = try await deployment.admin.stats().recordsWritten
                    return settled && written >= ids.count
                }
            }
            // One job for the whole lane: the other process waited for the turn rather than open its own.
            #expect(try await deployment.admin.stats().callsByEndpoint["POST /jobs/ingest"] == 1)
            for id in ids {
                #expect(try await deployment.admin.record(id)?["LastName"] as? String == "Bulk")
            }
        }
    }
}
