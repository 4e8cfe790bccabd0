import Activation
import Foundation

/// The bulk lane: records a large backfill queued, sent through Bulk API 2.0 ingest jobs instead
/// of sObject Collections, and the jobs themselves (kept in the store so a restart polls a job that
/// was running and applies its results, never sending its records again).
///
/// A record's row says where it is (`records.in_flight`): 0 queued for collections, 1 in a
/// collections request, 2 in the bulk lane (queued by a backfill of a destination with a
/// `bulkThreshold`, waiting for the backfill to end), 3 in a bulk job (`records.bulk_job`).
/// Collections' claims read only 0 and 1, so a record in the lane or in a job is never handed to
/// a collections sender; a streaming change to a record in the lane takes it out (back to 0), one
/// to a record in a job waits in its queue entry until the job's results are applied.
public protocol BulkQueue: Sendable {
    /// What the bulk lane of a destination holds: whether its lane is ready (a finished backfill
    /// left records in it) and the jobs not finished yet (to follow after a restart).
    func bulkWork(destinationId: String) async throws -> BulkWork
    /// Remembers a job Salesforce just created, before any record is put in it.
    func recordBulkJob(id: String, destinationId: String, object: String, now: Date) async throws
    /// Puts lane records into the job: at most `maxRecords`, while their CSV rows (`rowSize`, in
    /// `columns` order) fit in `maxBytes`. Only records whose fields to send are exactly `columns`
    /// (nil: those of the first record found) are taken; the others stay in the lane for a job of
    /// their own. `after` continues from where the previous page of the same job stopped.
    func claimForBulkJob(
        destinationId: String, jobId: String, columns: [String]?, after: BulkLaneCursor?, maxRecords: Int, maxBytes: Int,
        rowSize: @escaping @Sendable ([FieldValue]) -> Int, now: Date
    ) async throws -> BulkLanePage
    /// What Salesforce last said about a job (its state and counters), and its size once known.
    func updateBulkJob(id: String, state: String, processed: Int, failed: Int, records: Int?, columns: [String]?, uploaded: Bool?) async throws
    /// Applies Salesforce's per-record results to the job's records (`unreported` for those it did
    /// not list) in transactions of `pageSize`, takes them out of the job, then marks it finished.
    /// A crash meanwhile leaves the rest pointing at the job: the next start applies them.
    func applyBulkResults(
        destinationId: String, jobId: String, results: [String: DeliveryResult], unreported: DeliveryResult,
        state: String, processed: Int, failed: Int, pageSize: Int, now: Date
    ) async throws -> Int
    /// A job Salesforce never processed (its upload failed, it was aborted while open): its records
    /// go back to the bulk lane unchanged (nothing of them was written) and the job is finished.
    func returnBulkJobToLane(destinationId: String, jobId: String, state: String, now: Date) async throws -> Int
    /// Sends what the lane holds by sObject Collections instead (bulk keeps failing, or the backfill
    /// was smaller than the threshold). Returns how many records moved.
    func releaseBulkLane(destinationId: String, now: Date) async throws -> Int
    /// The destination's latest jobs, newest first.
    func recentBulkJobs(destinationId: String, limit: Int) async throws -> [BulkJobSummary]
}

/// What the bulk lane of one destination holds now.
public struct BulkWork: Sendable, Hashable {
    /// A finished backfill left records in the lane: they go in bulk jobs now.
    public var laneReady: Bool
    /// Jobs created and not finished (applied, or returned to the lane), oldest first.
    public var unfinishedJobs: [BulkJobSummary]

    public init(laneReady: Bool, unfinishedJobs: [BulkJobSummary]) {
        self.laneReady = laneReady
        self.unfinishedJobs = unfinishedJobs
    }
}

/// One Bulk API 2.0 ingest job as the store keeps it.
public struct BulkJobSummary: Sendable, Hashable {
    public var id: String
    public var destinationId: String
    public var object: String
    /// Salesforce's word for the job's state (`Open`, `UploadComplete`, `InProgress`, `JobComplete`,
    /// `Failed`, `Aborted`), as last seen.
    public var state: String
    /// The CSV's columns after `Id`.
    public var columns: [String]
    /// Records put in the job.
    public var records: Int
    /// Salesforce's `numberRecordsProcessed` and `numberRecordsFailed`.
    public var processed: Int
    public var failed: Int
    /// Whether its data was uploaded and the job closed (`UploadComplete` asked for).
    public var uploaded: Bool
    public var createdAt: Date
    /// When its results were applied or its records returned; nil while it runs.
    public var finishedAt: Date?

    public init(
        id: String, destinationId: String, object: String, state: String, columns: [String], records: Int, processed: Int,
        failed: Int, uploaded: Bool, createdAt: Date, finishedAt: Date?
    ) {
        self.id = id
        self.destinationId = destinationId
        self.object = object
        self.state = state
        self.columns = columns
        self.records = records
        self.processed = processed
        self.failed = failed
        self.uploaded = uploaded
        self.createdAt = createdAt
        self.finishedAt = finishedAt
    }
}

/// Where a job's claim stopped in the lane (the lane's index order).
public struct BulkLaneCursor: Sendable, Hashable {
    public var attempts: Int
    public var recordId: String

    public init(attempts: Int, recordId: String) {
        self.attempts = attempts
        self.recordId = recordId
    }
}

/// One page of records put in a bulk job.
public struct BulkLanePage: Sendable {
    /// The job's columns after `Id` (nil when nothing was taken and none was given).
    public var columns: [String]?
    /// The records taken, each with its values in `columns` order.
    public var records: [(recordId: String, values: [FieldValue])]
    /// Where to continue; nil when the lane has nothing more after this page.
    public var cursor: BulkLaneCursor?
    /// True when the byte budget stopped the page (the job is full).
    public var full: Bool

    public init(columns: [String]?, records: [(recordId: String, values: [FieldValue])], cursor: BulkLaneCursor?, full: Bool) {
        self.columns = columns
        self.records = records
        self.cursor = cursor
        self.full = full
    }
}
