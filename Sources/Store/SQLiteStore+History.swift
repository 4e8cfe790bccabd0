import Activation
import Foundation
import GRDB

extension SQLiteStore {
    /// Entries kept per record: older ones are dropped as new ones are written.
    static let historyPerRecord = 50
    /// Entries a record may hold past `historyPerRecord` before the oldest are deleted.
    static let historySlack = 25

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

extension QueueWriter {
    /// Appends one entry to a record's history. The record row counts its entries; past
    /// `historyPerRecord + historySlack` the oldest are deleted down to `historyPerRecord`, so the
    /// pruning statement runs once every `historySlack` entries instead of on every one.
    func writeHistory(_ entry: RecordHistoryEntry, for record: inout RecordRow) throws {
        let insert = try self.calls(.historyInsert)
        insert.bind(1, record.destinationId)
        insert.bind(2, record.recordId)
        insert.bind(3, entry.at.timeIntervalSince1970)
        insert.bind(4, entry.event.rawValue)
        insert.bind(5, entry.attempt)
        insert.bind(6, entry.code)
        insert.bind(7, entry.message)
        insert.bind(8, text: entry.fields.isEmpty ? nil : StoredJSON.fieldsBytes(entry.fields))
        insert.bind(9, entry.errorFields.isEmpty ? nil : StoredJSON.encode(entry.errorFields))
        try insert.run()
        record.historyEntries += 1
        guard record.historyEntries > SQLiteStore.historyPerRecord + SQLiteStore.historySlack else { return }
        let prune = try self.calls(.historyPrune)
        prune.bind(1, record.destinationId)
        prune.bind(2, record.recordId)
        prune.bind(3, record.destinationId)
        prune.bind(4, record.recordId)
        prune.bind(5, SQLiteStore.historyPerRecord)
        try prune.run()
        record.historyEntries = SQLiteStore.historyPerRecord
    }

    /// The history entry of one delivery result, for the attempt the record was on.
    func writeHistory(result: DeliveryResult, attempt: Int, for record: inout RecordRow) throws {
        let entry: RecordHistoryEntry
        switch result {
        case .acknowledged, .acknowledgedAt:
            entry = RecordHistoryEntry(at: self.now, event: .acknowledged, attempt: attempt)
        case .retry(let code, let message, _, _):
            entry = RecordHistoryEntry(at: self.now, event: .retry, attempt: attempt, code: code, message: message)
        case .postpone:
            entry = RecordHistoryEntry(at: self.now, event: .postponed, attempt: attempt)
        case .failed(let code, let message, let fields):
            entry = RecordHistoryEntry(at: self.now, event: .failed, attempt: attempt, code: code, message: message, errorFields: fields)
        }
        try self.writeHistory(entry, for: &record)
    }
}
