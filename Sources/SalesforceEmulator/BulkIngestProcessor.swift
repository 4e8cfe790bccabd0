import Foundation
import NIOCore
import SfdestJSON

/// Runs one closed ingest job the way Salesforce does: in internal batches of 10,000 rows, each
/// row checked and written like a record of an sObject Collections request (`allOrNone` false).
struct BulkIngestProcessor: Sendable {
    static let batchSize = 10_000

    let org: Org
    let jobId: String

    /// Processes the job to its end state. Started as its own task once the job is `UploadComplete`.
    func run() async {
        let started = ContinuousClock.now
        guard let begun = self.begin() else { return }
        let (job, settings) = begun
        let rows: [[String]]
        do {
            rows = try BulkIngestCSV.rows(job.data ?? ByteBuffer(), delimiter: job.delimiter, lineEnding: job.lineEnding)
        } catch {
            self.finish(.failed, message: error.message, started: started)
            return
        }
        guard let header = rows.first else {
            self.finish(.failed, message: "InvalidBatch : Empty CSV: the upload has no header row", started: started)
            return
        }
        let body = Array(rows.dropFirst())
        let columns: [BulkColumn]
        do {
            columns = try self.resolve(header: header, job: job)
        } catch {
            self.update { job in
                job.header = header
                job.unprocessed = body
            }
            self.finish(.failed, message: error.message, started: started)
            return
        }
        self.update { job in
            job.header = header
            job.pending = body
        }
        var offset = 0
        var batchesDone = 0
        while offset < body.count {
            if settings.batchDelayMilliseconds > 0 {
                try? await Task.sleep(for: .milliseconds(settings.batchDelayMilliseconds))
            }
            let faults = self.org.access.withLock { $0.faults }
            let chunk = Array(body[offset..<min(offset + Self.batchSize, body.count)])
            if self.state() == .aborted {
                self.update { $0.releasePending() }
                self.finish(.aborted, message: nil, started: started)
                return
            }
            if let failAfter = faults.bulkFailJobAfterBatches, batchesDone >= failAfter {
                self.update { $0.releasePending() }
                self.finish(
                    .failed, message: "InternalServerError : the batch could not be processed after 10 retries (emulator fault)",
                    started: started
                )
                return
            }
            if let exceeded = self.reserve(records: chunk.count, faults: faults) {
                self.update { $0.releasePending() }
                self.finish(.failed, message: exceeded, started: started)
                return
            }
            self.process(chunk, columns: columns, job: job, lockRowRate: faults.lockRowRate)
            offset += chunk.count
            batchesDone += 1
        }
        self.finish(.jobComplete, message: nil, started: started)
    }

    // MARK: Steps

    private struct Settings {
        var batchDelayMilliseconds: Int
    }

    /// Moves the job from UploadComplete to InProgress; nil when it is no longer UploadComplete (aborted).
    private func begin() -> (BulkIngestJob, Settings)? {
        let delay = self.org.access.withLock { $0.faults.bulkBatchDelayMs }
        return self.org.bulk.withLock { jobs -> (BulkIngestJob, Settings)? in
            guard var job = jobs[id: self.jobId], job.state == .uploadComplete else { return nil }
            job.state = .inProgress
            job.systemModstamp = SalesforceTimestamp.now()
            let snapshot = job
            job.data = nil
            jobs[id: self.jobId] = job
            return (snapshot, Settings(batchDelayMilliseconds: delay))
        }
    }

    private func state() -> BulkIngestState? {
        self.org.bulk.withLock { $0[id: self.jobId]?.state }
    }

    private func update(_ change: (inout BulkIngestJob) -> Void) {
        self.org.bulk.withLock { jobs in
            guard var job = jobs[id: self.jobId] else { return }
            change(&job)
            jobs[id: self.jobId] = job
        }
    }

    private func finish(_ state: BulkIngestState, message: String?, started: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - started
        self.update { job in
            // An abort that landed while the last batch ran still wins.
            job.state = job.state == .aborted ? .aborted : state
            job.releasePending()
            job.errorMessage = message
            job.processingMilliseconds = Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
            job.systemModstamp = SalesforceTimestamp.now()
        }
    }

    /// Takes one batch and its records from the rolling 24-hour allowance, or says why it cannot.
    private func reserve(records: Int, faults: Faults) -> String? {
        let now = ContinuousClock.now
        return self.org.bulk.withLock { jobs -> String? in
            let used = jobs.used(now: now)
            if used.batches + 1 > faults.bulkDailyBatchLimit {
                return "ExceededQuota : Exceeded the daily limit of \(faults.bulkDailyBatchLimit) Bulk API batches in a rolling 24 hours"
            }
            if used.records + records > faults.bulkDailyRecordLimit {
                return "ExceededQuota : Exceeded the daily limit of \(faults.bulkDailyRecordLimit) Bulk API 2.0 records in a rolling 24 hours"
            }
            jobs.recordUsage(batches: 1, records: records, now: now)
            return nil
        }
    }

    /// Writes one batch under the store lock and files each row's result.
    private func process(_ rows: [[String]], columns: [BulkColumn], job: BulkIngestJob, lockRowRate: Double) {
        let now = SalesforceTimestamp.now()
        let (verdicts, written) = self.org.store.withLock { store -> ([BulkRowVerdict], Int) in
            guard let schema = store.schema(named: job.object) else {
                let gone = RecordFailure(statusCode: "INVALID_TYPE", message: "sObject type '\(job.object)' is not supported", fields: [])
                return (rows.map { _ in .failure(id: nil, gone) }, 0)
            }
            let operation: CollectionOperation
            switch job.operation {
            case .insert: operation = .create
            case .update: operation = .update
            case .upsert:
                guard let name = job.externalIdFieldName, let field = schema.field(named: name) else {
                    let gone = RecordFailure(statusCode: "INVALID_FIELD", message: "External ID field no longer exists", fields: [])
                    return (rows.map { _ in .failure(id: nil, gone) }, 0)
                }
                operation = .upsert(externalField: field)
            }
            var verdicts = [BulkRowVerdict?](repeating: nil, count: rows.count)
            var incoming: [IncomingRecord] = []
            var positions: [Int] = []
            for (position, row) in rows.enumerated() {
                switch BulkRowReader.record(row, columns: columns, schema: schema) {
                case .record(let record):
                    incoming.append(record)
                    positions.append(position)
                case .refused(let failure):
                    verdicts[position] = .failure(id: nil, failure)
                }
            }
            let outcome = store.apply(operation, records: incoming, allOrNone: false, lockRowRate: lockRowRate, now: now)
            for (position, result) in zip(positions, outcome.results) {
                if let failure = result.failure {
                    verdicts[position] = .failure(id: result.id, failure)
                } else {
                    verdicts[position] = .success(id: result.id ?? "", created: result.created ?? false)
                }
            }
            return (verdicts.map { $0! }, outcome.recordsWritten)
        }
        let locked = verdicts.filter { if case .failure(_, let failure) = $0 { failure.statusCode == RecordFailure.unableToLockRow } else { false } }.count
        self.org.stats.withLock { stats in
            stats.recordsWritten += written
            stats.count(repeatElement(FaultKind.lockRow, count: locked))
        }
        self.update { job in
            for (row, verdict) in zip(rows, verdicts) {
                switch verdict {
                case .success(let id, let created):
                    job.successful.append([id, created ? "true" : "false"] + row)
                case .failure(let id, let failure):
                    job.failed.append([id ?? "", failure.bulkErrorText] + row)
                    job.recordsFailed += 1
                }
            }
            job.recordsProcessed += rows.count
            job.pendingOffset += rows.count
        }
    }

    /// The object's field for each header column, or the job's failure.
    private func resolve(header: [String], job: BulkIngestJob) throws(BulkCSVFailure) -> [BulkColumn] {
        let schema = self.org.store.withLock { $0.schema(named: job.object) }
        guard let schema else { throw BulkCSVFailure(message: "InvalidBatch : Unable to find object: \(job.object)") }
        var seen = Set<String>()
        var columns: [BulkColumn] = []
        for name in header {
            guard let field = schema.field(named: name) else {
                throw BulkCSVFailure(message: "InvalidBatch : Field name not found : \(name)")
            }
            guard seen.insert(field.name.lowercased()).inserted else {
                throw BulkCSVFailure(message: "InvalidBatch : Duplicate field name : \(name)")
            }
            columns.append(BulkColumn(field: field))
        }
        if let external = job.externalIdFieldName, !seen.contains(external.lowercased()) {
            throw BulkCSVFailure(message: "InvalidBatch : The upsert field \(external) is not a column of the CSV")
        }
        return columns
    }
}

/// A header column and the field it names.
struct BulkColumn: Sendable {
    let field: FieldDefinition
}

/// What happened to one row.
enum BulkRowVerdict {
    case success(id: String, created: Bool)
    case failure(id: String?, RecordFailure)
}

extension RecordFailure {
    /// `sf__Error` as Salesforce writes it: `CODE:message:fields --`.
    var bulkErrorText: String {
        "\(self.statusCode):\(self.message):\(self.fields.joined(separator: ",")) --"
    }
}

/// Reads one CSV row into a record: an empty cell leaves the field alone, `#N/A` sets it to null,
/// any other text is coerced to the field's type (a value it cannot take fails the row).
enum BulkRowReader {
    /// A row read as a record, or refused on its own.
    enum Read {
        case record(IncomingRecord)
        case refused(RecordFailure)
    }

    static func record(_ row: [String], columns: [BulkColumn], schema: SObjectSchema) -> Read {
        guard row.count == columns.count else {
            return .refused(RecordFailure(
                statusCode: "INVALID_FIELD",
                message: "The row has \(row.count) values for \(columns.count) columns", fields: []
            ))
        }
        var rawId: String?
        var values: [(field: FieldDefinition, value: JSON)] = []
        for (cell, column) in zip(row, columns) where !cell.isEmpty {
            let field = column.field
            if field.type == .id {
                rawId = cell == "#N/A" ? nil : cell
                continue
            }
            if cell == "#N/A" {
                values.append((field, .null))
                continue
            }
            var text = cell
            if field.type == .boolean {
                switch cell.lowercased() {
                case "true", "1", "yes": text = "true"
                case "false", "0", "no": text = "false"
                default:
                    return .refused(RecordFailure(
                        statusCode: "INVALID_TYPE_ON_FIELD_IN_RECORD",
                        message: "\(field.label): value not of required type: \(cell)", fields: [field.name]
                    ))
                }
            }
            do {
                values.append((field, try FieldValueRules.coerce(.string(text), for: field)))
            } catch {
                return .refused(RecordFailure(
                    statusCode: "INVALID_TYPE_ON_FIELD_IN_RECORD",
                    message: "\(field.label): value not of required type: \(cell)", fields: [field.name]
                ))
            }
        }
        return .record(IncomingRecord(schema: schema, rawId: rawId, values: values))
    }
}
