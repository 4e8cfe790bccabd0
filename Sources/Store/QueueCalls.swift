import Activation
import Foundation
import GRDB

/// The statements a `QueueWriter` runs per record, each prepared once per transaction (looked up
/// by slot, not by hashing its SQL on every use).
final class QueueCalls {
    enum Slot: Int, CaseIterable {
        case identityLookup, profileLoad, profileUpdate, profileInsert, identityLink
        case recordLoad, recordSave, historyInsert, historyPrune, exclusionDelete, failureDelete

        var sql: String {
            switch self {
            case .identityLookup: return "SELECT profile_id FROM identities WHERE namespace = ? AND value = ?"
            case .profileLoad: return "SELECT body FROM profiles WHERE id = ?"
            case .profileUpdate: return "UPDATE profiles SET body = ?, updated_at = ? WHERE id = ?"
            case .profileInsert: return "INSERT INTO profiles (body, updated_at) VALUES (?, ?)"
            case .identityLink: return "INSERT OR IGNORE INTO identities (namespace, value, profile_id) VALUES (?, ?, ?)"
            case .recordLoad: return "SELECT \(QueueWriter.recordColumns) FROM records WHERE destination_id = ? AND record_id = ?"
            case .recordSave:
                return """
                    INSERT INTO records (destination_id, record_id, acknowledged, acknowledged_at, pending, in_flight, due_at,
                        claimed_until, queued_at, attempts, last_error_code, last_error_message, history_entries, retention_used,
                        salesforce_id, target_object, claim_token, changed_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(destination_id, record_id) DO UPDATE SET acknowledged = excluded.acknowledged,
                        acknowledged_at = excluded.acknowledged_at, pending = excluded.pending, in_flight = excluded.in_flight,
                        due_at = excluded.due_at, claimed_until = excluded.claimed_until, queued_at = excluded.queued_at,
                        attempts = excluded.attempts, last_error_code = excluded.last_error_code,
                        last_error_message = excluded.last_error_message, history_entries = excluded.history_entries,
                        retention_used = excluded.retention_used, salesforce_id = excluded.salesforce_id,
                        target_object = excluded.target_object, claim_token = excluded.claim_token,
                        changed_at = excluded.changed_at
                    """
            case .historyInsert:
                return """
                    INSERT INTO record_history (destination_id, record_id, at, event, attempt, code, message, fields, error_fields)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            case .historyPrune:
                return """
                    DELETE FROM record_history WHERE destination_id = ? AND record_id = ? AND id <= (
                        SELECT id FROM record_history WHERE destination_id = ? AND record_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)
                    """
            case .exclusionDelete: return "DELETE FROM failures WHERE destination_id = ? AND record_key = ? AND kind = 'excluded'"
            case .failureDelete: return "DELETE FROM failures WHERE destination_id = ? AND record_key = ?"
            }
        }
    }

    private let db: Database
    private var prepared: [SQLiteCall?] = Array(repeating: nil, count: Slot.allCases.count)

    init(db: Database) {
        self.db = db
    }

    func callAsFunction(_ slot: Slot) throws -> SQLiteCall {
        if let call = self.prepared[slot.rawValue] { return call }
        let call = try SQLiteCall(self.db, slot.sql)
        self.prepared[slot.rawValue] = call
        return call
    }
}
