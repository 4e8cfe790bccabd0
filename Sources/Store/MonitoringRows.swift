import Activation
import Foundation

// What the monitoring reads are built from, whatever database holds the rows: every backend
// answers the same shapes from the same stored values.

extension DataflowRun {
    /// The run window starting at `hourStart` (milliseconds since 1970, as `runs` keys them).
    package init(
        hourStart: Int64, received: Int, activated: Int, unchanged: Int, excluded: Int, failed: Int,
        firstReceivedAt: Date?, lastResolvedAt: Date?
    ) {
        self.start = Date(timeIntervalSince1970: Double(hourStart) / 1000)
        self.end = Date(timeIntervalSince1970: Double(hourStart + 3_600_000) / 1000)
        self.received = received
        self.activated = activated
        self.unchanged = unchanged
        self.excluded = excluded
        self.failed = failed
        self.firstReceivedAt = firstReceivedAt
        self.lastResolvedAt = lastResolvedAt
    }
}

extension FailureGroup {
    package init(kind: String, code: String, count: Int, message: String, storedFields: String?, sampleRecordIds: [String]) {
        self.kind = kind
        self.code = code
        self.count = count
        self.message = message
        self.fields = StoredJSON.decodeStrings(storedFields)
        self.sampleRecordIds = sampleRecordIds
    }
}

extension RecordState {
    /// A record's state from its queue row and its listed failure (nil when neither exists): the
    /// listed failure or exclusion is its last error, else the transient error it is retrying after.
    package init?(key: String, record: QueueRecord?, failure: QueueFailure?) {
        guard record != nil || failure != nil else { return nil }
        let lastError: RecordError? = failure.map { failure in
            RecordError(kind: failure.kind, code: failure.code, message: failure.message, fields: failure.fields, at: failure.at)
        } ?? record.flatMap { record in
            guard let code = record.lastErrorCode else { return nil }
            return RecordError(kind: "retrying", code: code, message: record.lastErrorMessage ?? "", fields: [], at: record.dueAt ?? Date())
        }
        self.init(
            recordId: key, address: record?.salesforceId.map { RecordAddress(salesforceId: $0, objectType: record?.targetObject) },
            acknowledged: record?.acknowledged ?? [:], pending: record?.pending?.fields ?? [:],
            inFlight: record?.pending?.inFlight, attempts: record?.attempts ?? 0, lastError: lastError,
            acknowledgedAt: record?.acknowledgedAt
        )
    }
}

extension AudienceCounts {
    /// Sets the count of one stored status word (`audience_counts.status`).
    package mutating func set(status: String, count: Int) {
        switch status {
        case AudienceStatus.realized.rawValue: self.realized = count
        case AudienceStatus.existing.rawValue: self.existing = count
        default: self.exited = count
        }
    }
}

extension QueueFailure {
    package init(destinationId: String, recordKey: String, kind: String, code: String, message: String, storedFields: String?, at: Date) {
        self.init(
            destinationId: destinationId, recordKey: recordKey, kind: kind, code: code, message: message,
            fields: StoredJSON.decodeStrings(storedFields), sent: nil, at: at
        )
    }
}
