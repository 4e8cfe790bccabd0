import NIOCore
import SfdestJSON

/// What a Bulk API 2.0 ingest job does with its rows.
enum BulkIngestOperation: String, Sendable {
    case insert, update, upsert
}

/// An ingest job's state, as Salesforce names it.
enum BulkIngestState: String, Sendable {
    case open = "Open"
    case uploadComplete = "UploadComplete"
    case inProgress = "InProgress"
    case jobComplete = "JobComplete"
    case failed = "Failed"
    case aborted = "Aborted"

    var isTerminal: Bool {
        self == .jobComplete || self == .failed || self == .aborted
    }
}

/// One ingest job: what it was created with, its data, its progress and its results.
struct BulkIngestJob: Sendable {
    let id: String
    /// The object's canonical name (`Contact`).
    let object: String
    let operation: BulkIngestOperation
    /// The canonical name of the upsert's match field.
    let externalIdFieldName: String?
    let delimiter: BulkColumnDelimiter
    let lineEnding: BulkLineEnding
    let apiVersion: Int
    let createdById: String
    let createdDate: String
    var systemModstamp: String
    var state = BulkIngestState.open
    /// The uploaded CSV, until processing reads it.
    var data: ByteBuffer?
    var uploaded = false
    /// The uploaded header, as written.
    var header: [String] = []
    var recordsProcessed = 0
    var recordsFailed = 0
    var processingMilliseconds = 0
    var errorMessage: String?
    /// `sf__Id`, `sf__Created`, then the row's cells.
    var successful: [[String]] = []
    /// `sf__Id`, `sf__Error`, then the row's cells.
    var failed: [[String]] = []
    /// The cells of rows never processed.
    var unprocessed: [[String]] = []
    /// The uploaded rows while the job runs; those from `pendingOffset` on are not processed yet.
    var pending: [[String]] = []
    var pendingOffset = 0

    /// Unprocessed rows as the result route shows them: a job that stopped (aborted while its
    /// processor sleeps between batches, say) already counts the rows it will never reach.
    var unprocessedRows: [[String]] {
        guard self.state.isTerminal, self.pendingOffset < self.pending.count else { return self.unprocessed }
        return self.unprocessed + self.pending[self.pendingOffset...]
    }

    /// Files the rows not processed as unprocessed, once the job has stopped.
    mutating func releasePending() {
        if self.pendingOffset < self.pending.count { self.unprocessed += self.pending[self.pendingOffset...] }
        self.pending = []
        self.pendingOffset = 0
    }

    /// The JobInfo Salesforce answers to create, close and abort (`details` adds the counters of `GET`).
    func info(details: Bool) -> JSON {
        var pairs: [(String, JSON)] = [
            ("id", .string(self.id)),
            ("operation", .string(self.operation.rawValue)),
            ("object", .string(self.object)),
            ("createdById", .string(self.createdById)),
            ("createdDate", .string(self.createdDate)),
            ("systemModstamp", .string(self.systemModstamp)),
            ("state", .string(self.state.rawValue)),
        ]
        if let externalIdFieldName { pairs.append(("externalIdFieldName", .string(externalIdFieldName))) }
        pairs += [
            ("concurrencyMode", .string("Parallel")),
            ("contentType", .string("CSV")),
            ("apiVersion", .double(Double(self.apiVersion))),
        ]
        if self.state == .open {
            pairs.append(("contentUrl", .string("services/data/v\(self.apiVersion).0/jobs/ingest/\(self.id)/batches")))
        }
        pairs += [
            ("lineEnding", .string(self.lineEnding.rawValue)),
            ("columnDelimiter", .string(self.delimiter.rawValue)),
        ]
        if details {
            pairs += [
                ("jobType", .string("V2Ingest")),
                ("numberRecordsProcessed", .int(self.recordsProcessed)),
                ("numberRecordsFailed", .int(self.recordsFailed)),
                ("retries", .int(0)),
                ("totalProcessingTime", .int(self.processingMilliseconds)),
                ("apiActiveProcessingTime", .int(self.processingMilliseconds)),
                ("apexProcessingTime", .int(0)),
            ]
            if let errorMessage { pairs.append(("errorMessage", .string(errorMessage))) }
        }
        return .object(pairs)
    }
}

/// The org's ingest jobs and its rolling 24-hour Bulk allowance.
struct BulkIngestJobs: Sendable {
    private(set) var jobs: [String: BulkIngestJob] = [:]
    /// Job ids in creation order (the listing's order).
    private(set) var order: [String] = []
    /// Batches and records processed, with when, for the rolling 24 hours.
    private var usage: [(at: ContinuousClock.Instant, batches: Int, records: Int)] = []
    private var nextSequence = UInt64.random(in: 10_000_000...90_000_000)

    mutating func newJobId() -> String {
        self.nextSequence += 1
        return RecordID.make(keyPrefix: "750", instance: "8d", sequence: self.nextSequence)
    }

    subscript(id id: String) -> BulkIngestJob? {
        get { self.jobs[id] }
        set {
            if self.jobs[id] == nil, newValue != nil { self.order.append(id) }
            if newValue == nil { self.order.removeAll { $0 == id } }
            self.jobs[id] = newValue
        }
    }

    /// The job an id in a URL names (15 or 18 characters), or nil.
    func job(named rawId: String) -> BulkIngestJob? {
        guard let id = RecordID.normalized(rawId), RecordID.keyPrefix(of: id) == "750" else { return nil }
        return self.jobs[id]
    }

    /// Batches and records used in the last 24 hours.
    func used(now: ContinuousClock.Instant) -> (batches: Int, records: Int) {
        let since = now - .seconds(24 * 3600)
        var total = (batches: 0, records: 0)
        for entry in self.usage where entry.at > since {
            total.batches += entry.batches
            total.records += entry.records
        }
        return total
    }

    mutating func recordUsage(batches: Int, records: Int, now: ContinuousClock.Instant) {
        let since = now - .seconds(24 * 3600)
        self.usage.removeAll { $0.at <= since }
        self.usage.append((now, batches, records))
    }
}
