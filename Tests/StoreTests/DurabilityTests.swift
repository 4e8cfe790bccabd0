import Foundation
import GRDB
import Testing
@testable import Store

/// Guarantee 1, accepted means durable: every commit is fsynced before the store returns.
@Suite("SQLite store: durability settings")
struct DurabilityTests {
    /// `PRAGMA synchronous` answers 2 for FULL (1 is NORMAL, which in WAL mode may lose the last
    /// commits to a power cut).
    static let full = 2

    @Test func theWriterAndEveryReaderRunWithSynchronousFull() async throws {
        let temp = try TemporaryStore()
        let pool = temp.store.pool

        let journal = try await pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(journal == "wal")
        let writer = try await pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(writer == Self.full, "the writer commits with synchronous=\(String(describing: writer))")
        let unsafeWriter = try await pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(unsafeWriter == Self.full)

        // Readers held at once, so the pool opens several connections.
        let readers = try await withThrowingTaskGroup(of: (String, Int?).self) { group in
            for _ in 0..<4 {
                group.addTask {
                    try await pool.read { db in
                        Thread.sleep(forTimeInterval: 0.1)
                        return (db.description, try Int.fetchOne(db, sql: "PRAGMA synchronous"))
                    }
                }
            }
            var seen: [String: Int?] = [:]
            for try await (name, value) in group { seen[name] = value }
            return seen
        }
        #expect(readers.count >= 2, "only \(readers.keys.sorted()) read")
        for (name, value) in readers {
            #expect(value == Self.full, "\(name) runs with synchronous=\(String(describing: value))")
        }
    }

    @Test func aReopenedStoreIsStillFull() async throws {
        let temp = try TemporaryStore()
        let path = temp.directory.appendingPathComponent("sfdest.sqlite").path
        let reopened = try SQLiteStore(path: path, secrets: try SecretBox(base64Key: temp.key))
        let writer = try await reopened.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(writer == Self.full)
    }
}
