import Activation
import Foundation

/// Per-record delivery history: attempts, outcomes, what was sent (issue: monitoring and alerts).
public protocol RecordHistoryStore: Sendable {
    /// The newest `limit` entries of one record's history on a destination, oldest first.
    func recordHistory(destinationId: String, recordId: String, limit: Int) async throws -> [RecordHistoryEntry]
}

/// One event in the life of a record on a destination.
public struct RecordHistoryEntry: Sendable, Hashable {
    /// What happened to a record.
    public enum Event: String, Sendable, Hashable {
        /// Claimed and sent to Salesforce (`fields` holds what was sent).
        case sent
        /// Salesforce acknowledged the values sent.
        case acknowledged
        /// A transient failure: sent again later (`code`, `message`).
        case retry
        /// Put back in the queue without counting an attempt (paused connection, shutdown).
        case postponed
        /// A permanent failure kept for replay (`code`, `message`, `errorFields`).
        case failed
        /// A person replayed the failure: queued again.
        case replayed
    }

    public var at: Date
    public var event: Event
    /// The attempt number of the send this entry is about (1 = the first send).
    public var attempt: Int
    public var code: String?
    public var message: String?
    /// The fields sent (on `sent` and `replayed`).
    public var fields: [String: FieldValue]
    /// The fields Salesforce's error names (on `failed`).
    public var errorFields: [String]

    public init(
        at: Date, event: Event, attempt: Int, code: String? = nil, message: String? = nil,
        fields: [String: FieldValue] = [:], errorFields: [String] = []
    ) {
        self.at = at
        self.event = event
        self.attempt = attempt
        self.code = code
        self.message = message
        self.fields = fields
        self.errorFields = errorFields
    }
}
