import Activation
import Foundation
import GRDB

extension SQLiteStore {
    /// Entries kept per record (`QueueLedger.historyPerRecord`).
    static let historyPerRecord = QueueLedger.historyPerRecord
    static let historySlack = QueueLedger.historySlack

    /// Migration `v3_history`: per-record history, and the moments that give a run window its
    /// processing time.
    static func migrateHistory(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE record_history (
                id INTEGER PRIMARY KEY AUTOINCREMENT, destination_id TEXT NOT NULL, record_id TEXT NOT NULL,
                at REAL NOT NULL, event TEXT NOT NULL, attempt INTEGER NOT NULL, code TEXT, message TEXT,
                fields TEXT, error_fields TEXT);
            CREATE INDEX record_history_record ON record_history(destination_id, record_id, id);
            ALTER TABLE runs ADD COLUMN first_received_at REAL;
            ALTER TABLE runs ADD COLUMN last_resolved_at REAL;
            """)
    }

    /// Migration `v5_history_count`: each record row counts its history entries (pruning runs once
    /// every `historySlack` entries), and history ids are plain rowids (AUTOINCREMENT cost a
    /// second write per entry; ids still only grow, as the newest entry is never deleted).
    static func migrateHistoryCount(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE records ADD COLUMN history_entries INTEGER NOT NULL DEFAULT 0;
            UPDATE records SET history_entries = (SELECT COUNT(*) FROM record_history h
                WHERE h.destination_id = records.destination_id AND h.record_id = records.record_id);
            CREATE TABLE record_history_v5 (
                id INTEGER PRIMARY KEY, destination_id TEXT NOT NULL, record_id TEXT NOT NULL,
                at REAL NOT NULL, event TEXT NOT NULL, attempt INTEGER NOT NULL, code TEXT, message TEXT,
                fields TEXT, error_fields TEXT);
            INSERT INTO record_history_v5 SELECT * FROM record_history;
            DROP TABLE record_history;
            ALTER TABLE record_history_v5 RENAME TO record_history;
            CREATE INDEX record_history_record ON record_history(destination_id, record_id, id);
            """)
    }

    public func recordHistory(destinationId: String, recordId: String, limit: Int) async throws -> [RecordHistoryEntry] {
        let key = (try? SalesforceRecordID(recordId))?.value ?? recordId
        return try await self.pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM record_history WHERE destination_id = ? AND record_id = ? ORDER BY id DESC LIMIT ?",
                arguments: [destinationId, key, limit]
            ).reversed().map { row in
                RecordHistoryEntry(
                    at: Date(timeIntervalSince1970: row["at"]),
                    event: RecordHistoryEntry.Event(rawValue: row["event"]) ?? .sent,
                    attempt: row["attempt"], code: row["code"], message: row["message"],
                    fields: StoredJSON.decodeFields(row["fields"]),
                    errorFields: StoredJSON.decodeStrings(row["error_fields"] as String?)
                )
            }
        }
    }
}
