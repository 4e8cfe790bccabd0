import Hummingbird
import NIOCore
import SfdestJSON

/// Bulk API 2.0 ingest: `/jobs/ingest`, `/jobs/ingest/{id}`, `.../batches` and the three result sets.
extension RESTService {
    /// Largest upload a job takes (Salesforce: 150 MB per request).
    static let maximumBulkUploadBytes = 150 * 1024 * 1024

    /// - Parameter rest: the path after `jobs/ingest`.
    func bulkIngest(_ request: Request, rest: ArraySlice<Substring>, major: Int) async throws -> Response {
        let method = request.method
        switch rest.count {
        case 0:
            switch method {
            case .post: return try await self.createIngestJob(request, major: major)
            case .get, .head: return Reply.json(.ok, self.listIngestJobs())
            default: throw Self.bulkMethodNotAllowed(method, allowed: "GET,HEAD,POST")
            }
        case 1:
            let id = String(rest[rest.startIndex])
            switch method {
            case .get, .head: return Reply.json(.ok, try self.ingestJob(id).info(details: true))
            case .patch: return try await self.changeIngestJobState(id, request: request)
            case .delete: return try self.deleteIngestJob(id)
            default: throw Self.bulkMethodNotAllowed(method, allowed: "GET,HEAD,PATCH,DELETE")
            }
        case 2:
            let id = String(rest[rest.startIndex])
            let part = rest[rest.startIndex + 1]
            switch part {
            case "batches":
                guard method == .put else { throw Self.bulkMethodNotAllowed(method, allowed: "PUT") }
                return try await self.uploadIngestData(id, request: request)
            case "successfulResults", "failedResults", "unprocessedrecords":
                guard method == .get || method == .head else { throw Self.bulkMethodNotAllowed(method, allowed: "GET,HEAD") }
                return try self.ingestResults(id, part: String(part))
            default:
                throw RESTFailure.notFound
            }
        default:
            throw RESTFailure.notFound
        }
    }

    // MARK: Create, list, read, delete

    private func createIngestJob(_ request: Request, major: Int) async throws -> Response {
        let body = try await request.collectedBody()
        let document: JSON
        do {
            document = try JSON.parse(body.readableBytesView)
        } catch {
            throw RESTFailure.jsonParser("Unexpected character in request body: \(error.description) at [line:1, column:1]")
        }
        guard document.objectValue != nil else {
            throw RESTFailure.jsonParser("Cannot deserialize instance of JobInfo from a value that is not an object")
        }
        func text(_ key: String) throws(RESTFailure) -> String? {
            guard let value = document[key], !value.isNull else { return nil }
            guard let text = value.stringValue else {
                throw RESTFailure.jsonParser("Cannot deserialize value of type `String` from \(value) for '\(key)'")
            }
            return text
        }
        guard let objectName = try text("object"), !objectName.isEmpty else {
            throw Self.invalidJob("Object is required: name the sObject of the job in 'object'")
        }
        guard let schema = self.org.store.withLock({ $0.schema(named: objectName) }) else {
            throw Self.invalidJob("Unable to find object: \(objectName)")
        }
        let operationName = try text("operation") ?? ""
        guard let operation = BulkIngestOperation(rawValue: operationName) else {
            switch operationName {
            case "delete", "hardDelete":
                throw Self.invalidJob("The emulator does not implement '\(operationName)' ingest jobs; it serves insert, update and upsert")
            case "":
                throw Self.invalidJob("Operation is required: one of insert, update, upsert")
            default:
                throw RESTFailure.jsonParser("Cannot deserialize value of type `OperationEnum` from String \"\(operationName)\": not one of the values accepted for Enum class: [insert, update, upsert, delete, hardDelete]")
            }
        }
        var externalIdFieldName: String?
        if operation == .upsert {
            guard let name = try text("externalIdFieldName"), !name.isEmpty else {
                throw Self.invalidJob("External ID was blank for \(schema.name). An External ID must be specified for upsert.")
            }
            guard let field = schema.field(named: name) else {
                throw Self.invalidJob("Field name provided, \(name) does not match an External ID, Salesforce Id, or indexed field for \(schema.name)")
            }
            guard field.externalId || field.type == .id else {
                throw Self.invalidJob("Field name provided, \(field.name) does not match an External ID, Salesforce Id, or indexed field for \(schema.name)")
            }
            externalIdFieldName = field.name
        }
        let contentType = try text("contentType") ?? "CSV"
        guard contentType == "CSV" else {
            throw Self.invalidJob("Unsupported contentType \(contentType): Bulk API 2.0 ingest takes CSV only")
        }
        let delimiterName = try text("columnDelimiter") ?? "COMMA"
        guard let delimiter = BulkColumnDelimiter(rawValue: delimiterName) else {
            throw RESTFailure.jsonParser("Cannot deserialize value of type `ColumnDelimiterEnum` from String \"\(delimiterName)\": not one of the values accepted for Enum class: [\(BulkColumnDelimiter.allCases.map(\.rawValue).joined(separator: ", "))]")
        }
        let lineEndingName = try text("lineEnding") ?? "LF"
        guard let lineEnding = BulkLineEnding(rawValue: lineEndingName) else {
            throw RESTFailure.jsonParser("Cannot deserialize value of type `LineEndingEnum` from String \"\(lineEndingName)\": not one of the values accepted for Enum class: [LF, CRLF]")
        }
        let now = SalesforceTimestamp.now()
        let job = self.org.bulk.withLock { jobs in
            let job = BulkIngestJob(
                id: jobs.newJobId(), object: schema.name, operation: operation, externalIdFieldName: externalIdFieldName,
                delimiter: delimiter, lineEnding: lineEnding, apiVersion: major, createdById: self.org.userId,
                createdDate: now, systemModstamp: now
            )
            jobs[id: job.id] = job
            return job
        }
        return Reply.json(.ok, job.info(details: false))
    }

    private func listIngestJobs() -> JSON {
        let jobs = self.org.bulk.withLock { jobs in jobs.order.compactMap { jobs[id: $0] } }
        return .object([
            ("done", .bool(true)),
            ("records", .array(jobs.map { $0.info(details: true) })),
            ("nextRecordsUrl", .null),
        ])
    }

    private func ingestJob(_ rawId: String) throws(RESTFailure) -> BulkIngestJob {
        guard let job = self.org.bulk.withLock({ $0.job(named: rawId) }) else {
            throw RESTFailure(status: .notFound, errorCode: "NOT_FOUND", message: "The requested resource does not exist")
        }
        return job
    }

    private func deleteIngestJob(_ rawId: String) throws(RESTFailure) -> Response {
        let job = try self.ingestJob(rawId)
        guard job.state.isTerminal else {
            throw Self.invalidJobState("Job \(job.id) is \(job.state.rawValue): only a job that is JobComplete, Failed or Aborted can be deleted")
        }
        self.org.bulk.withLock { $0[id: job.id] = nil }
        return Reply.empty(.noContent)
    }

    // MARK: Upload and state changes

    private func uploadIngestData(_ rawId: String, request: Request) async throws -> Response {
        let job = try self.ingestJob(rawId)
        guard job.state == .open else {
            throw Self.invalidJobState("Job \(job.id) is \(job.state.rawValue): data can be uploaded only while the job is Open")
        }
        let failUpload = self.org.access.withLock { access in
            defer { access.faults.bulkFailNextUpload = false }
            return access.faults.bulkFailNextUpload
        }
        if failUpload {
            throw RESTFailure(
                status: .internalServerError, errorCode: "UNKNOWN_EXCEPTION",
                message: "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (emulator fault)"
            )
        }
        let data: ByteBuffer
        do {
            data = try await request.body.collect(upTo: Self.maximumBulkUploadBytes)
        } catch is NIOTooManyBytesError {
            throw RESTFailure(
                status: .contentTooLarge, errorCode: "REQUEST_ENTITY_TOO_LARGE",
                message: "Request body exceeds \(Self.maximumBulkUploadBytes) bytes: upload at most 100 MB of CSV per job"
            )
        }
        try self.org.bulk.withLock { jobs throws(RESTFailure) in
            guard var current = jobs[id: job.id], current.state == .open else {
                throw Self.invalidJobState("Job \(job.id) is no longer Open")
            }
            guard !current.uploaded else {
                throw Self.invalidJobState("Job \(job.id) already has its data: Bulk API 2.0 takes one upload per job")
            }
            current.data = data
            current.uploaded = true
            current.systemModstamp = SalesforceTimestamp.now()
            jobs[id: job.id] = current
        }
        return Reply.empty(.created)
    }

    private func changeIngestJobState(_ rawId: String, request: Request) async throws -> Response {
        let body = try await request.collectedBody()
        let document = (try? JSON.parse(body.readableBytesView)) ?? .null
        guard let stateName = document["state"]?.stringValue else {
            throw RESTFailure.jsonParser("The request body must be {\"state\": \"UploadComplete\"} or {\"state\": \"Aborted\"}")
        }
        let job = try self.ingestJob(rawId)
        let target: BulkIngestState
        switch stateName {
        case BulkIngestState.uploadComplete.rawValue: target = .uploadComplete
        case BulkIngestState.aborted.rawValue: target = .aborted
        default:
            throw Self.invalidJobState("Invalid state \(stateName): a job can be set to UploadComplete or Aborted")
        }
        let updated = try self.org.bulk.withLock { jobs throws(RESTFailure) -> BulkIngestJob in
            guard var current = jobs[id: job.id] else { throw RESTFailure.notFound }
            switch (current.state, target) {
            case (.open, .uploadComplete):
                current.state = .uploadComplete
            case (.open, .aborted), (.uploadComplete, .aborted), (.inProgress, .aborted):
                // Data never processed stays as uploaded: the result routes read it (outside this lock).
                current.state = .aborted
            default:
                throw Self.invalidJobState("Job \(current.id) is \(current.state.rawValue) and cannot be set to \(target.rawValue)")
            }
            current.systemModstamp = SalesforceTimestamp.now()
            jobs[id: current.id] = current
            return current
        }
        if target == .uploadComplete {
            let processor = BulkIngestProcessor(org: self.org, jobId: updated.id)
            Task { await processor.run() }
        }
        return Reply.json(.ok, updated.info(details: false))
    }

    // MARK: Results

    private func ingestResults(_ rawId: String, part: String) throws(RESTFailure) -> Response {
        var job = try self.ingestJob(rawId)
        if job.state == .aborted, let data = job.data {
            // Aborted before processing began: every uploaded row is unprocessed.
            let uploaded = (try? BulkIngestCSV.rows(data, delimiter: job.delimiter, lineEnding: job.lineEnding)) ?? []
            job.header = uploaded.first ?? []
            job.unprocessed = Array(uploaded.dropFirst())
        }
        let header: [String]
        var rows: [[String]]
        switch part {
        case "successfulResults":
            header = ["sf__Id", "sf__Created"] + job.header
            rows = job.successful
        case "failedResults":
            header = ["sf__Id", "sf__Error"] + job.header
            rows = job.failed
        default:
            header = job.header
            rows = job.unprocessedRows
        }
        // Salesforce does not keep the upload's order: neither does the emulator (seeded by the job).
        var generator = BulkShuffle(seed: job.id + part)
        rows.shuffle(using: &generator)
        let csv = BulkIngestCSV.write(header: header, rows: rows, delimiter: job.delimiter, lineEnding: job.lineEnding)
        var headers = HTTPFields()
        headers[.contentType] = "text/csv"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: csv))
    }

    // MARK: Failures

    private static func invalidJob(_ message: String) -> RESTFailure {
        RESTFailure(status: .badRequest, errorCode: "INVALIDJOB", message: message)
    }

    private static func invalidJobState(_ message: String) -> RESTFailure {
        RESTFailure(status: .conflict, errorCode: "INVALIDJOBSTATE", message: message)
    }

    private static func bulkMethodNotAllowed(_ method: HTTPRequest.Method, allowed: String) -> RESTFailure {
        RESTFailure(
            status: .methodNotAllowed, errorCode: "METHOD_NOT_ALLOWED",
            message: "HTTP Method '\(method.rawValue)' not allowed. Allowed are \(allowed)"
        )
    }
}

/// A small seeded generator (SplitMix64) so a job's result order is shuffled, yet the same on every read.
struct BulkShuffle: RandomNumberGenerator {
    private var state: UInt64

    init(seed text: String) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        self.state = hash
    }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var value = self.state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}
