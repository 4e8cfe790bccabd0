import Activation
import Foundation
import GRDB
import Testing
@testable import Store

/// The bulk lane's SQLite queries each search an index (what the lane does, the same on every
/// backend, is in `StoreContractTests`' bulk lane suite).
@Suite("The bulk lane in the store")
struct BulkLaneStoreTests {
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
