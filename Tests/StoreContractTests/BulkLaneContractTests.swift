import Activation
import Foundation
import Store
import Testing

/// The bulk lane, the same on every backend: a backfill over the threshold fills it, collections
/// never claim a record in it or in a job, results apply with the queue's rules, a job Salesforce
/// never processed goes back whole.
@Suite("Store contract: the bulk lane")
struct BulkLaneContractTests {
    typealias Q = DeliveryQueueContractTests
    static let ids = (0..<5).map(Q.contactId)

    /// A saved destination (with its connection) whose threshold is `threshold`, and its plan.
    static func destination(_ store: any ContractStore, threshold: Int?) async throws -> ActiveDestination {
        try await store.saveConnection(Connection(
            id: "conn-1", name: "c", loginKind: .loginUrl, loginValue: "http://127.0.0.1:1", apiVersion: "v66.0", authType: .password,
            username: "u", clientId: "c", secrets: ConnectionSecrets(password: "p"), status: .connected, instanceUrl: nil,
            createdAt: Q.t0, updatedAt: Q.t0
        ))
        try await store.saveDestination(Destination(
            id: "dest-1", name: "d", description: "", connectionId: "conn-1", objectType: .contact, status: .enabled,
            createdAt: Q.t0, updatedAt: Q.t0, bulkThreshold: threshold
        ))
        return try Q.destination()
    }

    /// Stores five profiles (no destination enabled yet), then backfills them into the destination.
    static func backfill(_ store: any ContractStore, _ destination: ActiveDestination, round: String = "A") async throws {
        _ = try await store.ingest(Self.ids.map { Q.profile($0, lastName: "\(round)-\($0)") }, into: [], at: Q.t0)
        try await store.startBackfill(destinationId: destination.id)
        let progress = try await store.backfill(destination, after: 0, limit: 100, at: Q.t0)
        #expect(progress.nextAfter == nil)
        #expect(progress.counts.queued == 5)
    }

    @Test(arguments: Backend.available)
    func theDestinationKeepsItsThreshold(_ backend: Backend) async throws {
        try await backend.withStore { store in
            _ = try await Self.destination(store, threshold: nil)
            #expect(try await store.destination(id: "dest-1")?.bulkThreshold == nil)
            var stored = try #require(try await store.destination(id: "dest-1"))
            stored.bulkThreshold = 42
            try await store.saveDestination(stored)
            #expect(try await store.destination(id: "dest-1")?.bulkThreshold == 42)
        }
    }

    @Test(arguments: Backend.available)
    func aBackfillOverTheThresholdFillsTheLaneThatCollectionsNeverClaim(_ backend: Backend) async throws {
        try await backend.withStore { store in
            let destination = try await Self.destination(store, threshold: 3)
            try await Self.backfill(store, destination)
            let later = Q.t0.addingTimeInterval(86_400)

            // In the lane: not due for collections, however late, and the lane is ready.
            #expect(try await store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: later).isEmpty)
            #expect(try await store.nextDue(destinationId: "dest-1") == nil)
            #expect(try await store.bulkWork(destinationId: "dest-1").laneReady)
            #expect(try await store.backlog(destinationId: "dest-1").pending == 5)

            // Into a job: every record, its columns, its values in their order.
            try await store.recordBulkJob(id: "750xx0000000001", destinationId: "dest-1", object: "Contact", now: Q.t0)
            let page = try await store.claimForBulkJob(
                destinationId: "dest-1", jobId: "750xx0000000001", columns: nil, after: nil, maxRecords: 100, maxBytes: 1_000_000,
                rowSize: { _ in 10 }, now: Q.t0
            )
            let columns = try #require(page.columns)
            #expect(columns.contains("LastName"))
            #expect(page.records.map(\.recordId).sorted() == Self.ids.sorted())
            let lastName = try #require(columns.firstIndex(of: "LastName"))
            #expect(page.records.allSatisfy { $0.values[lastName] == .string("A-\($0.recordId)") })
            #expect(page.cursor == nil)
            #expect(try await store.backlog(destinationId: "dest-1").inFlight == 5)
            #expect(try await store.bulkWork(destinationId: "dest-1").laneReady == false)
            #expect(try await store.bulkWork(destinationId: "dest-1").unfinishedJobs.map(\.id) == ["750xx0000000001"])

            // A streaming change to a record in the job waits for it: no lease hands it to collections.
            _ = try await store.ingest([Q.profile(Self.ids[0], lastName: "newer")], into: [destination], at: Q.t0)
            #expect(try await store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: later).isEmpty)
            #expect(try await store.nextDue(destinationId: "dest-1") == nil)

            // Results: one acknowledged, one refused, the rest not reported (queued again).
            let applied = try await store.applyBulkResults(
                destinationId: "dest-1", jobId: "750xx0000000001",
                results: [Self.ids[0]: .acknowledged, Self.ids[1]: .failed(code: "STRING_TOO_LONG", message: "too long", fields: ["LastName"])],
                unreported: .postpone(at: Q.t0, outcomeUnknown: true), state: "JobComplete", processed: 2, failed: 1, pageSize: 2, now: Q.t0
            )
            #expect(applied == 5)
            #expect(try await store.bulkWork(destinationId: "dest-1").unfinishedJobs.isEmpty)
            let job = try #require(try await store.recentBulkJobs(destinationId: "dest-1", limit: 10).first)
            #expect(job.state == "JobComplete")
            #expect(try await store.failures(destinationId: "dest-1").first?.code == "STRING_TOO_LONG")
            // Now collections take the newer change and the unreported records, each once.
            let claimed = try await store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: Q.t0)
            #expect(claimed.map(\.recordId).sorted() == [Self.ids[0]] + Self.ids[2...].sorted())
            #expect(claimed.first { $0.recordId == Self.ids[0] }?.fields["LastName"] == .string("newer"))
            let state = try #require(try await store.recordState(destinationId: "dest-1", recordId: Self.ids[0]))
            #expect(state.acknowledged["LastName"] == .string("A-\(Self.ids[0])"))
        }
    }

    /// A backfill under the threshold (10 for 5 records), or a destination without one (nil):
    /// everything goes to collections.
    @Test(arguments: Backend.available, [10, nil] as [Int?])
    func aBackfillUnderTheThresholdOrWithoutOneGoesToCollections(_ backend: Backend, threshold: Int?) async throws {
        try await backend.withStore { store in
            let destination = try await Self.destination(store, threshold: threshold)
            try await Self.backfill(store, destination)
            #expect(try await store.bulkWork(destinationId: "dest-1").laneReady == false)
            #expect(try await store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: Q.t0).count == 5)
        }
    }

    @Test(arguments: Backend.available)
    func aJobSalesforceNeverProcessedGoesBackToTheLaneWhole(_ backend: Backend) async throws {
        try await backend.withStore { store in
            let destination = try await Self.destination(store, threshold: 3)
            try await Self.backfill(store, destination)
            try await store.recordBulkJob(id: "750xx0000000001", destinationId: "dest-1", object: "Contact", now: Q.t0)
            // Two pages of a job whose byte budget allows three rows.
            let first = try await store.claimForBulkJob(
                destinationId: "dest-1", jobId: "750xx0000000001", columns: nil, after: nil, maxRecords: 2, maxBytes: 30,
                rowSize: { _ in 10 }, now: Q.t0
            )
            #expect(first.records.count == 2)
            #expect(first.full == false)
            let second = try await store.claimForBulkJob(
                destinationId: "dest-1", jobId: "750xx0000000001", columns: first.columns, after: first.cursor, maxRecords: 2, maxBytes: 10,
                rowSize: { _ in 10 }, now: Q.t0
            )
            #expect(second.records.count == 1)
            #expect(second.full)
            #expect(try await store.backlog(destinationId: "dest-1").inFlight == 3)
            let returned = try await store.returnBulkJobToLane(destinationId: "dest-1", jobId: "750xx0000000001", state: "Aborted", now: Q.t0)
            #expect(returned == 3)
            #expect(try await store.backlog(destinationId: "dest-1").pending == 5)
            #expect(try await store.bulkWork(destinationId: "dest-1").laneReady)
            #expect(try await store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: Q.t0).isEmpty)
            // Released to collections instead: all five, due now.
            #expect(try await store.releaseBulkLane(destinationId: "dest-1", now: Q.t0) == 5)
            #expect(try await store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: Q.t0).count == 5)
        }
    }
}
