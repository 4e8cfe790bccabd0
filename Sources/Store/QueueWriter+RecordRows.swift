import Activation
import Foundation
import GRDB

/// A record row of the queue: read, changed in memory, written back once; every write keeps the
/// backlog counters (`queue_counts`) in step with the row's category.
extension QueueWriter {
    struct RecordRow: Equatable {
        /// The row as read, remembering its backlog category.
        func withStoredCategory() -> RecordRow {
            var row = self
            row.storedCategory = row.category
            return row
        }

        /// After a send whose outcome is unknown, Salesforce may hold its values or the ones
        /// acknowledged before: neither is known any more, so those fields are sent again whatever
        /// a later profile wants (never skipped as "already held").
        mutating func forgetAcknowledgement(of entry: PendingRecord) {
            guard let inFlight = entry.inFlight else { return }
            for field in inFlight.keys {
                self.acknowledged[field] = nil
            }
        }

        var destinationId: String
        var recordId: String
        var acknowledged: [String: FieldValue] = [:]
        var acknowledgedAt: Date?
        var pending: PendingRecord?
        var dueAt: Date?
        var claimedUntil: Date?
        /// The token of the claim holding the record while it is in flight (`DeliveryQueue`).
        var claimToken: Int64?
        var queuedAt: Date?
        var attempts = 0
        /// Seconds of the retention window used by the current change (the waits between its
        /// transient failures; reset when it settles).
        var retentionUsed: TimeInterval = 0
        var lastErrorCode: String?
        var lastErrorMessage: String?
        /// The Salesforce Id writes go to when the key is not it: the Id an upsert answered, or a
        /// converted lead's Contact.
        var salesforceId: String?
        /// The object writes go to when it is not the destination's (a converted lead's Contact).
        var targetObject: String?
        /// Entries in `record_history` for this record (pruned back to `historyPerRecord` in steps).
        var historyEntries = 0
        /// Whether the row was read from the table (false: a new one).
        var exists = false
        /// The backlog category the row had when it was read (nil: new or settled).
        var storedCategory: QueueCategory?

        enum QueueCategory: Equatable {
            case pending, inFlight, retrying
        }

        /// Where the row counts in the backlog: queued rows are in flight, retrying after a
        /// transient failure, or pending; settled rows count nowhere.
        var category: QueueCategory? {
            guard let pending = self.pending else { return nil }
            if pending.inFlight != nil { return .inFlight }
            return self.attempts > 0 ? .retrying : .pending
        }
    }

    /// The columns `recordRow(from:)` reads, in its order (read by index: GRDB's by-name lookup
    /// lowercases and searches on every access).
    static let recordColumns = """
        destination_id, record_id, acknowledged, acknowledged_at, pending, due_at, claimed_until, queued_at, attempts,
        last_error_code, last_error_message, history_entries, retention_used, salesforce_id, target_object, claim_token
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
        RecordRow(
            destinationId: row.text(0) ?? "",
            recordId: row.text(1) ?? "",
            acknowledged: row.withBytes(2, StoredBinary.decodeFields),
            acknowledgedAt: row.double(3).map(Date.init(timeIntervalSince1970:)),
            pending: row.withBytes(4, StoredBinary.decodePending),
            dueAt: row.double(5).map(Date.init(timeIntervalSince1970:)),
            claimedUntil: row.double(6).map(Date.init(timeIntervalSince1970:)),
            claimToken: row.int64(15),
            queuedAt: row.double(7).map(Date.init(timeIntervalSince1970:)),
            attempts: row.int(8) ?? 0,
            retentionUsed: row.double(12) ?? 0,
            lastErrorCode: row.text(9),
            lastErrorMessage: row.text(10),
            salesforceId: row.text(13),
            targetObject: row.text(14),
            historyEntries: row.int(11) ?? 0,
            exists: true
        ).withStoredCategory()
    }

    mutating func saveRecord(_ row: RecordRow) throws {
        let (before, after) = (row.storedCategory, row.category)
        if before != after {
            self.queueCounts[row.destinationId, default: QueueCountDelta()].add(before, -1)
            self.queueCounts[row.destinationId, default: QueueCountDelta()].add(after, 1)
        }
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
        try save.run()
    }
}
