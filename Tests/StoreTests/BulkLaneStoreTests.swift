import Activation
import Foundation
import GRDB
import Testing
@testable import Store

/// The bulk lane in the store: a backfill over the threshold fills it, collections never claim a
/// record in it or in a job, results apply with the queue's rules, and every query of the lane
/// searches an index.
@Suite("The bulk lane in the store")
struct BulkLaneStoreTests {
    static let ids = (0..<5).map { index in
        (try? SalesforceRecordID("003xx00000\(String(format: "%05d", index))"))?.value ?? ""
    }

    /// A saved destination (with its connection) whose threshold is `threshold`, and its plan.
    static func destination(_ store: SQLiteStore, threshold: Int?) async throws -> ActiveDestination {
        try await store.saveConnection(Connection(
            id: "conn-1", name: "c", loginKind: .loginUrl, loginValue: "http://127.0.0.1:1", apiVersion: "v66.0", authType: .password,
            username: "u", clientId: "c", secrets: ConnectionSecrets(password: "p"), status: .connected, instanceUrl: nil,
            createdAt: t0, updatedAt: t0
        ))
        try await store.saveDestination(Destination(
            id: "dest-1", name: "d", description: "", connectionId: "conn-1", objectType: .contact, status: .enabled,
            createdAt: t0, updatedAt: t0, bulkThreshold: threshold
        ))
        return try contactDestination()
    }

    /// Stores five profiles (no destination enabled yet), then backfills them into the destination.
    static func backfill(_ store: SQLiteStore, _ destination: ActiveDestination, round: String = "A") async throws {
        _ = try await store.ingest(Self.ids.map { fragment($0, lastName: "\(round)-\($0)") }, into: [], at: t0)
        try await store.startBackfill(destinationId: destination.id)
        let progress = try await store.backfill(destination, after: 0, limit: 100, at: t0)
        #expect(progress.nextAfter == nil)
        #expect(progress.counts.queued == 5)
    }

    @Test func theDestinationKeepsItsThreshold() async throws {
        let temp = try TemporaryStore()
        _ = try await Self.destination(temp.store, threshold: nil)
        #expect(try await temp.store.destination(id: "dest-1")?.bulkThreshold == nil)
        var stored = try #require(try await temp.store.destination(id: "dest-1"))
        stored.bulkThreshold = 42
        try await temp.store.saveDestination(stored)
        #expect(try await temp.store.destination(id: "dest-1")?.bulkThreshold == 42)
    }

    @Test func aBackfillOverTheThresholdFillsTheLaneThatCollectionsNeverClaim() async throws {
        let temp = try TemporaryStore()
        let destination = try await Self.destination(temp.store, threshold: 3)
        try await Self.backfill(temp.store, destination)
        let later = t0.addingTimeInterval(86_400)

        // In the lane: not due for collections, however late, and the lane is ready.
        #expect(try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: later).isEmpty)
        #expect(try await temp.store.nextDue(destinationId: "dest-1") == nil)
        #expect(try await temp.store.bulkWork(destinationId: "dest-1").laneReady)
        #expect(try await temp.store.backlog(destinationId: "dest-1").pending == 5)

        // Into a job: every record, its columns, its values in their order.
        try await temp.store.recordBulkJob(id: "750xx0000000001", destinationId: "dest-1", object: "Contact", now: t0)
        let page = try await temp.store.claimForBulkJob(
            destinationId: "dest-1", jobId: "750xx0000000001", columns: nil, after: nil, maxRecords: 100, maxBytes: 1_000_000,
            rowSize: { _ in 10 }, now: t0
        )
        let columns = try #require(page.columns)
        #expect(columns.contains("LastName"))
        #expect(page.records.map(\.recordId).sorted() == Self.ids.sorted())
        let lastName = try #require(columns.firstIndex(of: "LastName"))
        #expect(page.records.allSatisfy { $0.values[lastName] == .string("A-\($0.recordId)") })
        #expect(page.cursor == nil)
        #expect(try await temp.store.backlog(destinationId: "dest-1").inFlight == 5)
        #expect(try await temp.store.bulkWork(destinationId: "dest-1").laneReady == false)
        #expect(try await temp.store.bulkWork(destinationId: "dest-1").unfinishedJobs.map(\.id) == ["750xx0000000001"])

        // A streaming change to a record in the job waits for it: no lease hands it to collections.
        _ = try await temp.store.ingest([fragment(Self.ids[0], lastName: "newer")], into: [destination], at: t0)
        #expect(try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: later).isEmpty)
        #expect(try await temp.store.nextDue(destinationId: "dest-1") == nil)

        // Results: one acknowledged, one refused, the rest not reported (queued again).
        let applied = try await temp.store.applyBulkResults(
            destinationId: "dest-1", jobId: "750xx0000000001",
            results: [Self.ids[0]: .acknowledged, Self.ids[1]: .failed(code: "STRING_TOO_LONG", message: "too long", fields: ["LastName"])],
            unreported: .postpone(at: t0, outcomeUnknown: true), state: "JobComplete", processed: 2, failed: 1, pageSize: 2, now: t0
        )
        #expect(applied == 5)
        #expect(try await temp.store.bulkWork(destinationId: "dest-1").unfinishedJobs.isEmpty)
        let job = try #require(try await temp.store.recentBulkJobs(destinationId: "dest-1", limit: 10).first)
        #expect(job.state == "JobComplete")
        #expect(try await temp.store.failures(destinationId: "dest-1").first?.code == "STRING_TOO_LONG")
        // Now collections take the newer change and the unreported records, each once.
        let claimed = try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: t0)
        #expect(claimed.map(\.recordId).sorted() == [Self.ids[0]] + Self.ids[2...].sorted())
        #expect(claimed.first { $0.recordId == Self.ids[0] }?.fields["LastName"] == .string("newer"))
        let state = try #require(try await temp.store.recordState(destinationId: "dest-1", recordId: Self.ids[0]))
        #expect(state.acknowledged["LastName"] == .string("A-\(Self.ids[0])"))
    }

    @Test func aBackfillUnderTheThresholdGoesToCollections() async throws {
        let temp = try TemporaryStore()
        let destination = try await Self.destination(temp.store, threshold: 10)
        try await Self.backfill(temp.store, destination)
        #expect(try await temp.store.bulkWork(destinationId: "dest-1").laneReady == false)
        #expect(try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: t0).count == 5)
    }

    @Test func withoutAThresholdNothingEntersTheLane() async throws {
        let temp = try TemporaryStore()
        let destination = try await Self.destination(temp.store, threshold: nil)
        try await Self.backfill(temp.store, destination)
        #expect(try await temp.store.bulkWork(destinationId: "dest-1").laneReady == false)
        #expect(try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: t0).count == 5)
    }

    @Test func aJobSalesforceNeverProcessedGoesBackToTheLaneWhole() async throws {
        let temp = try TemporaryStore()
        let destination = try await Self.destination(temp.store, threshold: 3)
        try await Self.backfill(temp.store, destination)
        try await temp.store.recordBulkJob(id: "750xx0000000001", destinationId: "dest-1", object: "Contact", now: t0)
        // Two pages of a job whose byte budget allows three rows.
        let first = try await temp.store.claimForBulkJob(
            destinationId: "dest-1", jobId: "750xx0000000001", columns: nil, after: nil, maxRecords: 2, maxBytes: 30,
            rowSize: { _ in 10 }, now: t0
        )
        #expect(first.records.count == 2)
        #expect(first.full == false)
        let second = try await temp.store.claimForBulkJob(
            destinationId: "dest-1", jobId: "750xx0000000001", columns: first.columns, after: first.cursor, maxRecords: 2, maxBytes: 10,
            rowSize: { _ in 10 }, now: t0
        )
        #expect(second.records.count == 1)
        #expect(second.full)
        #expect(try await temp.store.backlog(destinationId: "dest-1").inFlight == 3)
        let returned = try await temp.store.returnBulkJobToLane(destinationId: "dest-1", jobId: "750xx0000000001", state: "Aborted", now: t0)
        #expect(returned == 3)
        #expect(try await temp.store.backlog(destinationId: "dest-1").pending == 5)
        #expect(try await temp.store.bulkWork(destinationId: "dest-1").laneReady)
        #expect(try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: t0).isEmpty)
        // Released to collections instead: all five, due now.
        #expect(try await temp.store.releaseBulkLane(destinationId: "dest-1", now: t0) == 5)
        #expect(try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: t0).count == 5)
    }

    @Test(arguments: SQLiteStore.BulkQuery.allCases)
    func bulkQueriesSearchTheirIndexes(_ query: SQLiteStore.BulkQuery) async throws {
        let temp = try TemporaryStore()
        let arguments: StatementArguments = switch query {
        case .laneAny, .laneCount, .unfinishedJobs: ["dest-1"]
        case .lanePage: ["dest-1", 0, "", 100]
        case .jobRecords: ["dest-1", "750", 100]
        case .recentJobs: ["dest-1", 10]
        }
        let plan = try await temp.store.pool.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + query.sql, arguments: arguments).map { $0["detail"] as String }
        }
        let lookups = plan.filter { $0.hasPrefix("SEARCH") || $0.hasPrefix("SCAN") }
        #expect(lookups == query.expectedPlan, "plan of \(query): \(plan)")
    }
}
