import Activation
import Foundation

/// What happened to the profiles of one ingest or backfill, per destination.
public struct OutcomeCounts: Sendable, Hashable, Codable {
    public var received = 0
    public var unchanged = 0
    public var excluded = 0
    public var queued = 0

    public init() {}

    public static func += (lhs: inout OutcomeCounts, rhs: OutcomeCounts) {
        lhs.received += rhs.received
        lhs.unchanged += rhs.unchanged
        lhs.excluded += rhs.excluded
        lhs.queued += rhs.queued
    }
}

/// The result of one durable ingest transaction.
public struct IngestSummary: Sendable, Hashable {
    public var profiles = 0
    public var perDestination: [String: OutcomeCounts] = [:]
    public init() {}
}

/// How far a backfill got.
public struct BackfillProgress: Sendable, Hashable {
    /// Continue after this profile; nil when every stored profile was evaluated.
    public var nextAfter: Int64?
    public var counts: OutcomeCounts

    package init(nextAfter: Int64?, counts: OutcomeCounts) {
        self.nextAfter = nextAfter
        self.counts = counts
    }
}

/// The process running a backfill: a random token per process, like a claim's, and how long its
/// hold lasts without a page. Another process takes the backfill over once the hold has run out
/// (its holder died or stalled); a restarted backfill is free again.
public struct BackfillHold: Sendable, Hashable {
    public var holder: Int64
    public var lease: TimeInterval

    public init(holder: Int64 = Int64.random(in: 1...Int64.max), lease: TimeInterval) {
        self.holder = holder
        self.lease = lease
    }
}

/// A backfill page was not stored: this process no longer holds the backfill (its hold ran out
/// and another process took it over, or the backfill was restarted).
public struct BackfillNotHeld: Error, CustomStringConvertible {
    public let destinationId: String

    package init(destinationId: String) {
        self.destinationId = destinationId
    }

    public var description: String {
        "the backfill of \(destinationId) is no longer this process's: another process took it over or it was restarted"
    }
}

/// A record taken for sending: nobody else sends it until it is completed or its lease expires.
public struct ClaimedRecord: Sendable, Hashable {
    /// The record's key: its Salesforce Id, or its external Id value (upsert destinations).
    public var recordId: String
    public var fields: [String: FieldValue]
    /// Earlier attempts that failed transiently.
    public var attempts: Int
    /// When this change was first queued.
    public var queuedAt: Date
    /// When the newest of the values sent was accepted (`POST /v1/profiles` answered): delivery's
    /// latency is timed from it, not from an older change it replaced.
    public var acceptedAt: Date
    /// Seconds of the retention window this change has used: the waits between its transient
    /// failures. Time the destination spent paused, disabled or out of API budget does not count.
    public var retentionUsed: TimeInterval
    /// Where the record's writes go when not to its key on the destination's object.
    public var address: RecordAddress?
    /// The token of the claim that took the record (the same for every record of one claim):
    /// its answers are applied only while the record is still held by this claim, so a sender
    /// whose lease ran out and was taken over cannot overwrite the new owner's state (fencing).
    public var claim: Int64

    public init(
        recordId: String, fields: [String: FieldValue], attempts: Int, queuedAt: Date, retentionUsed: TimeInterval = 0,
        address: RecordAddress? = nil, claim: Int64 = 0, acceptedAt: Date? = nil
    ) {
        self.claim = claim
        self.acceptedAt = acceptedAt ?? queuedAt
        self.recordId = recordId
        self.fields = fields
        self.attempts = attempts
        self.queuedAt = queuedAt
        self.retentionUsed = retentionUsed
        self.address = address
    }
}

/// A record's Salesforce Id when its key is not that Id: the Id an upsert answered (the
/// destination's object), or a converted lead's Contact (`objectType` "Contact").
public struct RecordAddress: Sendable, Hashable {
    public var salesforceId: String
    /// The object the Id is of, when it is not the destination's.
    public var objectType: String?

    public init(salesforceId: String, objectType: String? = nil) {
        self.salesforceId = salesforceId
        self.objectType = objectType
    }
}

/// What Salesforce said about one record of a request.
public enum DeliveryResult: Sendable, Hashable {
    case acknowledged
    /// Acknowledged, and Salesforce named the record's Id: an upsert's answer, or the Contact a
    /// converted lead's change went to. Later writes and the record view use it.
    case acknowledgedAt(RecordAddress)
    /// Transient: send it again from `at` on (counts as an attempt). `outcomeUnknown`: the request
    /// may have been applied (timeout, lost connection), so Salesforce may hold the values sent.
    case retry(code: String, message: String, at: Date, outcomeUnknown: Bool = false)
    /// Not sent for a reason that is no record's fault (a paused connection, shutdown): back in the
    /// queue from `at` on, without counting an attempt.
    case postpone(at: Date, outcomeUnknown: Bool = false)
    /// A person must fix something; kept for replay.
    case failed(code: String, message: String, fields: [String])

    /// Salesforce holds the values sent (`acknowledged` or `acknowledgedAt`).
    public var isAcknowledgement: Bool {
        switch self {
        case .acknowledged, .acknowledgedAt: return true
        case .retry, .postpone, .failed: return false
        }
    }
}

/// A destination's queue.
public struct Backlog: Sendable, Hashable, Codable {
    /// Records waiting to be sent for the first time or again.
    public var pending = 0
    public var inFlight = 0
    /// Records waiting after a transient failure.
    public var retrying = 0
    public var failed = 0
    public init() {}
}

/// An hourly window of a destination's activity.
public struct DataflowRun: Sendable, Hashable {
    public var start: Date
    public var end: Date
    public var received: Int
    public var activated: Int
    public var unchanged: Int
    public var excluded: Int
    public var failed: Int
    /// When the window's first profile was received (nil for windows older than this column).
    public var firstReceivedAt: Date?
    /// When the last profile of the window was resolved (activated, unchanged, excluded or failed).
    public var lastResolvedAt: Date?
    /// Received profiles not resolved yet: the run is processing while there are any.
    public var unresolved: Int { max(0, self.received - self.activated - self.unchanged - self.excluded - self.failed) }
    /// Seconds from the first profile received to the last resolution; while processing, up to `now`.
    public func processingSeconds(now: Date = Date()) -> Double? {
        guard let first = self.firstReceivedAt else { return nil }
        let end = self.unresolved > 0 ? now : (self.lastResolvedAt ?? first)
        return max(0, end.timeIntervalSince(first))
    }
}

/// Failed or excluded identities sharing one code.
public struct FailureGroup: Sendable, Hashable {
    public var kind: String
    public var code: String
    public var count: Int
    public var message: String
    public var fields: [String]
    public var sampleRecordIds: [String]
}

/// Everything known about one record of a destination.
public struct RecordState: Sendable, Hashable {
    /// The record's key: its Salesforce Id, or its external Id value (upsert destinations).
    public var recordId: String
    /// The Salesforce Id an upsert answered, or a converted lead's Contact.
    public var address: RecordAddress?
    public var acknowledged: [String: FieldValue]
    public var pending: [String: FieldValue]
    public var inFlight: [String: FieldValue]?
    public var attempts: Int
    public var lastError: RecordError?
    public var acknowledgedAt: Date?
}

/// The last failure or exclusion of a record.
public struct RecordError: Sendable, Hashable {
    public var kind: String
    public var code: String
    public var message: String
    public var fields: [String]
    public var at: Date
}

/// How many stored profiles hold each status of an audience.
public struct AudienceCounts: Sendable, Hashable {
    public var realized = 0
    public var existing = 0
    public var exited = 0
    public init() {}
}
