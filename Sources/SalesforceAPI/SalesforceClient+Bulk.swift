import Foundation
import NIOCore
import NIOHTTP1
import SfdestBasics

/// Bulk API 2.0 ingest: create a job, upload its CSV, close it, poll it, read its results.
extension SalesforceClient {
    /// Result CSVs are read with this bound (they can be far larger than a JSON answer); they are
    /// parsed as they stream, so only the rows kept take memory.
    public static let maxBulkResultBytes = 1 << 30

    /// Uploads (up to 150 MB) and result downloads get at least this long, whatever the
    /// connection's request timeout (meant for JSON calls of at most a few MB).
    public static let bulkTransferTimeout: Duration = .seconds(600)

    private var bulkTransferTimeAmount: TimeAmount {
        max(self.transport.timeout, .nanoseconds(Self.bulkTransferTimeout.inNanoseconds))
    }

    /// `POST .../jobs/ingest`: a new job in state `Open`, CSV with LF line endings, comma delimited.
    public func createIngestJob(object: String, operation: BulkOperation) async throws -> BulkIngestJob {
        try Self.checkAPIName(object, role: "object type")
        var request = CreateJobRequest(object: object, operation: operation.wireName)
        if case .upsert(let field) = operation {
            try Self.checkAPIName(field, role: "external Id field")
            request.externalIdFieldName = field
        }
        let body = try ByteBuffer(bytes: JSONEncoder().encode(request))
        let answer = try await self.authorized(.POST, path: self.dataPath("/jobs/ingest"), body: body)
        return try self.job(from: answer)
    }

    /// `PUT .../jobs/ingest/{id}/batches` with the CSV (`text/csv`); Salesforce answers 201.
    /// One upload per job; at most 150 MB (100 MB of CSV is the safe size).
    public func uploadIngestData(jobId: String, csv: ByteBuffer) async throws {
        try Self.checkJobId(jobId)
        _ = try await self.authorized(
            .PUT, path: self.dataPath("/jobs/ingest/\(jobId)/batches"), body: csv, contentType: "text/csv",
            timeout: self.bulkTransferTimeAmount
        )
    }

    /// `PATCH .../jobs/ingest/{id}` `{"state":"UploadComplete"}`: the job is queued for processing.
    public func closeIngestJob(jobId: String) async throws -> BulkIngestJob {
        try await self.setJobState(jobId: jobId, to: .uploadComplete)
    }

    /// `PATCH .../jobs/ingest/{id}` `{"state":"Aborted"}`: nothing more of it is processed.
    public func abortIngestJob(jobId: String) async throws -> BulkIngestJob {
        try await self.setJobState(jobId: jobId, to: .aborted)
    }

    /// `GET .../jobs/ingest/{id}`: the job's state and counts.
    public func ingestJob(jobId: String) async throws -> BulkIngestJob {
        try Self.checkJobId(jobId)
        let answer = try await self.authorized(.GET, path: self.dataPath("/jobs/ingest/\(jobId)"))
        return try self.job(from: answer)
    }

    /// successfulResults/, failedResults/, unprocessedrecords/: `keyColumn` is the correlation column
    /// (`Id` for update, the external Id field for upsert). Streams and parses the CSV; memory bounded by rows kept.
    public func ingestJobResults(jobId: String, kind: BulkResultKind, keyColumn: String) async throws -> [BulkResultRow] {
        try Self.checkJobId(jobId)
        try Self.checkAPIName(keyColumn, role: "correlation column")
        let path = self.dataPath("/jobs/ingest/\(jobId)/\(kind.pathComponent)")
        let label = "GET \(path)"
        var parser = BulkResultParser(kind: kind, keyColumn: keyColumn)
        let session = try await self.tokens.current()
        var answer = try await self.streamResults(path: path, session: session, label: label) { try parser.feed($0) }
        if answer.status == 401 {
            let fresh = try await self.tokens.refresh(replacing: session)
            answer = try await self.streamResults(path: path, session: fresh, label: label) { try parser.feed($0) }
        }
        guard (200..<300).contains(answer.status) else {
            throw SalesforceError.fromRESTResponse(status: answer.status, body: answer.errorBody)
        }
        return try parser.finish()
    }

    private func streamResults(
        path: String, session: SalesforceSession, label: String, consume: (ByteBuffer) throws -> Void
    ) async throws -> SalesforceTransport.StreamedAnswer {
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Bearer \(session.accessToken)")
        headers.add(name: "Accept", value: "text/csv")
        return try await self.transport.stream(
            .GET, url: session.instanceURL + path, headers: headers, label: label, peer: "the Salesforce instance",
            maxBodyBytes: Self.maxBulkResultBytes, timeout: self.bulkTransferTimeAmount, consume: consume
        )
    }

    private func setJobState(jobId: String, to state: BulkJobState) async throws -> BulkIngestJob {
        try Self.checkJobId(jobId)
        let body = ByteBuffer(string: #"{"state":"\#(state.rawValue)"}"#)
        let answer = try await self.authorized(.PATCH, path: self.dataPath("/jobs/ingest/\(jobId)"), body: body)
        return try self.job(from: answer)
    }

    private func job(from answer: SalesforceTransport.Response) throws -> BulkIngestJob {
        let info = try self.decode(JobInfoAnswer.self, from: answer)
        guard let state = BulkJobState(rawValue: info.state) else {
            throw SalesforceError.invalidResponse("unknown Bulk job state '\(info.state)'", httpStatus: answer.status)
        }
        guard (try? Self.checkJobId(info.id)) != nil else {
            throw SalesforceError.invalidResponse("Salesforce answered a job id that is not one ('\(info.id.prefix(24))')", httpStatus: answer.status)
        }
        let message = info.errorMessage.flatMap { $0.isEmpty ? nil : $0 }
        return BulkIngestJob(
            id: info.id, state: state, object: info.object ?? "", operation: info.operation ?? "",
            recordsProcessed: info.numberRecordsProcessed ?? 0, recordsFailed: info.numberRecordsFailed ?? 0,
            errorMessage: message
        )
    }

    /// Checks a job id (`750` then 12 or 15 letters and digits) before it goes into a URL path.
    static func checkJobId(_ id: String) throws(SalesforceError) {
        let valid = (id.count == 15 || id.count == 18) && id.hasPrefix("750")
            && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
        guard valid else {
            throw SalesforceError.invalidRequest(
                code: "INVALID_JOB_ID", message: "'\(id.prefix(24))' is not a Bulk API job Id",
                hint: "a job Id starts with 750 and has 15 or 18 letters and digits"
            )
        }
    }
}

/// The body of `POST .../jobs/ingest`.
private struct CreateJobRequest: Encodable {
    var object: String
    var operation: String
    var externalIdFieldName: String?
    var contentType = "CSV"
    var lineEnding = "LF"
    var columnDelimiter = "COMMA"
}

/// The JobInfo fields the client reads.
private struct JobInfoAnswer: Decodable {
    var id: String
    var state: String
    var object: String?
    var operation: String?
    var numberRecordsProcessed: Int?
    var numberRecordsFailed: Int?
    var errorMessage: String?
}
