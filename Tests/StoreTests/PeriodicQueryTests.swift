import Foundation
import GRDB
import GRDBSQLite
import Testing
@testable import Store

/// Every query that runs on a timer costs what is queued, not what was ever stored: its plan
/// searches the intended index, and the work SQLite does for it stays the same when the history
/// (delivered records, listed exclusions, resolved alerts, profiles) grows tenfold.
@Suite("Periodic queries cost O(backlog)")
struct PeriodicQueryTests {
    @Test(arguments: PeriodicQuery.allCases)
    func planSearchesTheIntendedIndex(_ query: PeriodicQuery) async throws {
        let temp = try TemporaryStore()
        let plan = try await temp.store.pool.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + query.sql, arguments: query.sampleArguments(destinationId: "dest-1", now: 0))
                .map { $0["detail"] as String }
        }
        let lookups = plan.filter { $0.hasPrefix("SEARCH") || $0.hasPrefix("SCAN") }
        #expect(lookups == query.expectedPlan, "plan of \(query): \(plan)")
    }

    @Test func workDoesNotGrowWithHistory() async throws {
        let temp = try TemporaryStore()
        let now = t0.timeIntervalSince1970
        // The backlog: 5 queued records, 3 in flight, 2 retrying; one open alert; one failure of
        // the alerting code.
        try await temp.store.pool.write { db in
            try db.execute(sql: "INSERT INTO profiles (body, updated_at) VALUES (x'00', 0)")
            for index in 0..<10 {
                let inFlight = index < 3 ? 1 : 0
                try db.execute(
                    sql: """
                        INSERT INTO records (destination_id, record_id, pending, in_flight, due_at, claimed_until, queued_at, attempts)
                        VALUES ('dest-1', ?, x'00', ?, ?, ?, ?, ?)
                        """,
                    arguments: ["queued-\(index)", inFlight, now + Double(index), inFlight == 1 ? now + 120 : nil, now, index >= 8 ? 1 : 0]
                )
            }
            try db.execute(sql: """
                INSERT INTO failures (destination_id, record_key, kind, code, message, fields, at)
                VALUES ('dest-1', 'failed-0', 'failed', 'RETRY_EXHAUSTED', 'm', '[]', ?)
                """, arguments: [now])
            try db.execute(sql: """
                INSERT INTO alerts (id, rule, destination_id, state, message, details, opened_at)
                VALUES ('open-1', 'flow_run_failure', 'dest-1', 'open', 'm', '{}', ?)
                """, arguments: [now])
        }
        try await Self.addHistory(temp.store, from: 0, count: 2_000, now: now)
        let small = try await Self.steps(temp.store, now: now)
        try await Self.addHistory(temp.store, from: 2_000, count: 18_000, now: now)
        let large = try await Self.steps(temp.store, now: now)
        for query in PeriodicQuery.allCases {
            let before = try #require(small[query])
            let after = try #require(large[query])
            // Ten times the history; a query that visits it would take at least 18,000 more steps.
            #expect(after <= before + 50, "\(query): \(before) VM steps with 2,000 delivered records, \(after) with 20,000")
        }
        // The measurement itself can see a scan: the same question without the index visits the history.
        let unindexed = "SELECT MIN(claimed_until) FROM records NOT INDEXED WHERE destination_id = ? AND pending IS NOT NULL AND in_flight = 1"
        let scan = try await temp.store.pool.read { db in try Self.steps(db, unindexed, ["dest-1"]) }
        #expect(scan > 20_000)
    }

    /// Delivered records (settled, with a spent claim), listed exclusions, resolved alerts,
    /// acknowledged webhook events and stored profiles: what accumulates while nothing is queued.
    static func addHistory(_ store: SQLiteStore, from start: Int, count: Int, now: Double) async throws {
        try await store.pool.write { db in
            let range: StatementArguments = [start, start + count]
            try db.execute(sql: """
                WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
                INSERT INTO records (destination_id, record_id, acknowledged, acknowledged_at, in_flight, due_at, claimed_until)
                SELECT 'dest-1', 'delivered-' || i, x'00', 0, 0, 0, 0 FROM n
                """, arguments: range)
            try db.execute(sql: """
                WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
                INSERT INTO failures (destination_id, record_key, kind, code, message, fields, at)
                SELECT 'dest-1', 'profile:' || i, 'excluded', 'MISSING_IDENTITY', 'm', '[]', 0 FROM n
                """, arguments: range)
            try db.execute(sql: """
                WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
                INSERT INTO alerts (id, rule, destination_id, state, message, details, opened_at, resolved_at)
                SELECT 'resolved-' || i, 'flow_run_failure', 'dest-1', 'resolved', 'm', '{}', 0, 1 FROM n
                """, arguments: range)
            try db.execute(sql: """
                WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
                INSERT INTO profiles (body, updated_at) SELECT x'00', 0 FROM n
                """, arguments: range)
        }
    }

    /// SQLite's virtual-machine steps for each periodic query: the work it does, row by row.
    static func steps(_ store: SQLiteStore, now: Double) async throws -> [PeriodicQuery: Int32] {
        try await store.pool.read { db in
            var steps: [PeriodicQuery: Int32] = [:]
            for query in PeriodicQuery.allCases {
                steps[query] = try Self.steps(db, query.sql, query.sampleArguments(destinationId: "dest-1", now: now + 3600))
            }
            return steps
        }
    }

    static func steps(_ db: Database, _ sql: String, _ arguments: StatementArguments) throws -> Int32 {
        let statement = try db.makeStatement(sql: sql)
        _ = try Row.fetchAll(statement, arguments: arguments)
        return sqlite3_stmt_status(statement.sqliteStatement, Int32(SQLITE_STMTSTATUS_VM_STEP), 0)
    }
}

@Suite("The stored-profile count")
struct ProfileCountTests {
    @Test func countsProfilesAsTheyAreCreated() async throws {
        let temp = try TemporaryStore()
        let destination = try contactDestination()
        _ = try await temp.store.ingest(
            [fragment(contact1, lastName: "A"), fragment("003xx000004TmiRAAS", lastName: "B")], into: [destination], at: t0
        )
        #expect(try await temp.store.profileCount() == 2)
        // The same identity again merges into its profile; a new one adds one.
        _ = try await temp.store.ingest(
            [fragment(contact1, lastName: "C"), fragment("003xx000004TmiSAAS", lastName: "D")], into: [destination], at: t0
        )
        #expect(try await temp.store.profileCount() == 3)
        let counted = try await temp.store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM profiles") }
        #expect(counted == 3)
    }
}

extension PeriodicQuery {
    /// Arguments for a plan check or a cost measurement: a destination id, a code, a time, a limit,
    /// as many as the statement takes.
    func sampleArguments(destinationId: String, now: Double) -> StatementArguments {
        switch self {
        case .nextDuePending, .nextClaimExpiry, .oldestPendingChange, .backlogCounts, .failedCount, .alertSettings:
            return [destinationId]
        case .failureCount: return [destinationId, "RETRY_EXHAUSTED"]
        case .latestRuns, .openAlerts: return [destinationId, 10]
        case .dueWebhookDeliveries: return [now, 100]
        case .profileCount: return []
        }
    }
}
