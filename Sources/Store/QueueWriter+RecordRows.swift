import Activation
import Foundation
import GRDB

/// Record rows of the queue in SQLite: read by index, written back once; `saveRecord` keeps the
/// backlog counters (`queue_counts`) in step with the row's category through the ledger.
extension QueueWriter {
    typealias RecordRow = QueueRecord

    /// The columns `recordRow(from:)` reads, in its order (read by index: GRDB's by-name lookup
    /// lowercases and searches on every access).
    static let recordColumns = """
        destination_id, record_id, acknowledged, acknowledged_at, pending, due_at, claimed_until, queued_at, attempts,
        last_error_code, last_error_message, history_entries, retention_used, salesforce_id, target_object, claim_token, changed_at
        """

    func loadRecord(_ destinationId: String, _ recordId: String) throws -> RecordRow {
        let load = try self.calls(.recordLoad)
        load.reset()
        defer { load.reset() }
        load.bind(1, destinationId)
        load.bind(2, recordId)
        guard try load.step() else { return RecordRow(destinationId: destinationId, recordId: recordId) }
        return Self.recordRow(from: load)
    }

    /// The current row of a statement that selected `recordColumns`.
    static func recordRow(from row: SQLiteCall) -> RecordRow {
        var record = RecordRow(destinationId: row.text(0) ?? "", recordId: row.text(1) ?? "")
        record.acknowledged = row.withBytes(2, StoredBinary.decodeFields)
        record.acknowledgedAt = row.double(3).map(Date.init(timeIntervalSince1970:))
        record.pending = row.withBytes(4, StoredBinary.decodePending)
        record.dueAt = row.double(5).map(Date.init(timeIntervalSince1970:))
        record.claimedUntil = row.double(6).map(Date.init(timeIntervalSince1970:))
        record.claimToken = row.int64(15)
        record.queuedAt = row.double(7).map(Date.init(timeIntervalSince1970:))
        record.attempts = row.int(8) ?? 0
        record.retentionUsed = row.double(12) ?? 0
        record.lastErrorCode = row.text(9)
        record.lastErrorMessage = row.text(10)
        record.salesforceId = row.text(13)
        record.targetObject = row.text(14)
        record.historyEntries = row.int(11) ?? 0
        record.changedAt = row.double(16).map(Date.init(timeIntervalSince1970:))
        record.exists = true
        return record.withStoredCategory()
    }

    /// Saves a row, the backlog counters following its category.
    mutating func saveRecord(_ row: RecordRow) throws {
        self.ledger.saving(row)
        try self.storeRecord(row)
    }

    /// Writes a row whose counters the ledger already moved.
    func storeRecord(_ row: RecordRow) throws {
        let save = try self.calls(.recordSave)
        save.bind(1, row.destinationId)
        save.bind(2, row.recordId)
        save.bind(3, blob: row.acknowledged.isEmpty ? nil : StoredBinary.fields(row.acknowledged))
        save.bind(4, row.acknowledgedAt?.timeIntervalSince1970)
        save.bind(5, blob: row.pending.map(StoredBinary.pending))
        save.bind(6, Int64(row.pending?.inFlight == nil ? 0 : 1))
        save.bind(7, row.pending == nil ? nil : row.dueAt?.timeIntervalSince1970)
        save.bind(8, row.pending?.inFlight == nil ? nil : row.claimedUntil?.timeIntervalSince1970)
        save.bind(9, row.pending == nil ? nil : row.queuedAt?.timeIntervalSince1970)
        save.bind(10, row.attempts)
        save.bind(11, row.lastErrorCode)
        save.bind(12, row.lastErrorMessage)
        save.bind(13, row.historyEntries)
        save.bind(14, row.pending == nil ? 0 : row.retentionUsed)
        save.bind(15, row.salesforceId)
        save.bind(16, row.targetObject)
        save.bind(17, row.pending?.inFlight == nil ? nil : row.claimToken)
        save.bind(18, row.pending == nil ? nil : row.changedAt?.timeIntervalSince1970)
        try save.run()
    }
}
