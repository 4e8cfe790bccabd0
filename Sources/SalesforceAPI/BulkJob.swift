/// Bulk API 2.0 ingest: the operation, the job as Salesforce reports it, and the rows of its results.

/// What an ingest job does with each CSV row.
public enum BulkOperation: Sendable, Hashable {
    case insert
    case update
    /// Creates or updates records matched by `externalIdField` (an external Id field of the object).
    case upsert(externalIdField: String)

    /// The job's `operation` on the wire.
    public var wireName: String {
        switch self {
        case .insert: return "insert"
        case .update: return "update"
        case .upsert: return "upsert"
        }
    }
}

/// An ingest job's state: Open -> UploadComplete -> InProgress -> JobComplete | Failed, or Aborted.
public enum BulkJobState: String, Sendable {
    case open = "Open"
    case uploadComplete = "UploadComplete"
    case inProgress = "InProgress"
    case jobComplete = "JobComplete"
    case failed = "Failed"
    case aborted = "Aborted"

    /// True once the job will change no more (`JobComplete`, `Failed`, `Aborted`): its results are final.
    public var isTerminal: Bool {
        switch self {
        case .jobComplete, .failed, .aborted: return true
        case .open, .uploadComplete, .inProgress: return false
        }
    }
}

/// An ingest job as its JobInfo describes it.
public struct BulkIngestJob: Sendable, Hashable {
    /// The job Id (`750...`).
    public var id: String
    public var state: BulkJobState
    /// The sObject type (`Contact`).
    public var object: String
    /// `insert`, `update`, `upsert`...
    public var operation: String
    /// Rows processed so far (successful and failed); 0 until the job is polled while in progress.
    public var recordsProcessed: Int
    /// Rows that failed so far.
    public var recordsFailed: Int
    /// Why the job failed, when it did.
    public var errorMessage: String?

    public init(
        id: String, state: BulkJobState, object: String, operation: String,
        recordsProcessed: Int = 0, recordsFailed: Int = 0, errorMessage: String? = nil
    ) {
        self.id = id
        self.state = state
        self.object = object
        self.operation = operation
        self.recordsProcessed = recordsProcessed
        self.recordsFailed = recordsFailed
        self.errorMessage = errorMessage
    }
}

/// Which result set of a job to read.
public enum BulkResultKind: Sendable {
    /// `successfulResults/`: `sf__Id`, `sf__Created`, then the uploaded columns.
    case successful
    /// `failedResults/`: `sf__Id`, `sf__Error` (`CODE:message`), then the uploaded columns.
    case failed
    /// `unprocessedrecords/`: the uploaded columns of rows a failed or aborted job never processed.
    case unprocessed

    var pathComponent: String {
        switch self {
        case .successful: return "successfulResults/"
        case .failed: return "failedResults/"
        case .unprocessed: return "unprocessedrecords/"
        }
    }
}

/// One row of a result CSV: the value of the correlation column, and Salesforce's verdict.
public struct BulkResultRow: Sendable, Hashable {
    /// The row's value in the correlation column (`Id` for update, the external Id field for upsert).
    public var key: String
    /// `sf__Id`: the record's Id (empty in failed rows of inserts, so nil).
    public var salesforceId: String?
    /// `sf__Created`, for successful rows.
    public var created: Bool?
    /// The code part of `sf__Error` (`STRING_TOO_LONG`), for failed rows.
    public var errorCode: String?
    /// The message part of `sf__Error`, for failed rows.
    public var errorMessage: String?

    public init(key: String, salesforceId: String? = nil, created: Bool? = nil, errorCode: String? = nil, errorMessage: String? = nil) {
        self.key = key
        self.salesforceId = salesforceId
        self.created = created
        self.errorCode = errorCode
        self.errorMessage = errorMessage
    }
}
