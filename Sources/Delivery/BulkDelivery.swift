import Activation
import CoreMetrics
import Foundation
import Logging
import NIOCore
import SalesforceAPI
import Store

/// The bulk lane's state in delivery: which destinations have a bulk worker, and the backoff of
/// those whose bulk work failed.
struct BulkLanes: Sendable {
    var running: Set<String> = []
    var notBefore: [String: Date] = [:]
    /// Consecutive rounds whose jobs could not be uploaded; at `maxUploadFailures` the lane goes
    /// to collections rather than wait on bulk for ever.
    var uploadFailures: [String: Int] = [:]
    /// Consecutive failed rounds, for the backoff.
    var failures: [String: Int] = [:]
}

/// Tuning of the bulk lane.
public enum BulkTuning {
    /// Salesforce's cap on a job's CSV (100 MB); sfdest stays just under it.
    public static let maxJobBytes = 100_000_000
    /// Records put in a job per store transaction.
    static let claimPage = 10_000
    /// Records whose results are applied per store transaction.
    static let applyPage = 10_000
    /// Rounds whose upload failed before the lane goes to collections.
    static let maxUploadFailures = 3
}

extension DeliveryMetrics.Name {
    /// Bulk jobs finished, by the state Salesforce gave them (`JobComplete`, `Failed`, `Aborted`).
    public static let bulkJobs = "sfdest_bulk_jobs_total"
    /// Records sent in bulk jobs, by outcome (`acknowledged`, `failed`, `queued_again`).
    public static let bulkRecords = "sfdest_bulk_records_total"
    /// Bulk jobs running now (created, not finished).
    public static let bulkJobsRunning = "sfdest_bulk_jobs_running"
}

extension DeliveryMetrics {
    func bulkJobFinished(destinationId: String, state: String) {
        Counter(label: Name.bulkJobs, dimensions: [("destination", destinationId), ("state", state)], factory: self.factory).increment()
    }

    func bulkRecords(destinationId: String, outcome: String, count: Int) {
        guard count > 0 else { return }
        Counter(label: Name.bulkRecords, dimensions: [("destination", destinationId), ("outcome", outcome)], factory: self.factory)
            .increment(by: count)
    }

    func bulkJobsRunning(destinationId: String, count: Int) {
        Gauge(label: Name.bulkJobsRunning, dimensions: [("destination", destinationId)], factory: self.factory).record(count)
    }
}

/// The way out for large backfills: the records a backfill put in the bulk lane go to Salesforce
/// in Bulk API 2.0 ingest jobs, one job per set of columns (at most `BulkTuning.maxJobBytes` of
/// CSV each): created, uploaded, closed (`UploadComplete`), polled with backoff, and each record's
/// result applied with the same rules as collections' (`PendingRecord`). A job whose upload fails
/// is aborted and its records go back to the lane; a job found running after a restart is polled
/// and its results applied, never sent again.
extension DeliveryService {
    /// Enabled destinations with bulk work and no bulk worker yet; marks them running.
    func destinationsWithBulkWork() async -> [Destination] {
        let now = Date()
        var ready: [Destination] = []
        guard !self.stopping else { return [] }
        let bulkStore = self.store
        do {
            for destination in try await self.store.destinations() where destination.status == .enabled {
                guard !self.bulkLanes.running.contains(destination.id) else { continue }
                if let notBefore = self.bulkLanes.notBefore[destination.id], notBefore > now { continue }
                if self.policy.isPaused(destinationId: destination.id, connectionId: destination.connectionId, now: now) { continue }
                let work = try await bulkStore.bulkWork(destinationId: destination.id)
                guard work.laneReady || !work.unfinishedJobs.isEmpty else { continue }
                // One process at a time fills and follows a destination's jobs (records are taken
                // into a job with SKIP LOCKED and results fenced by the job, so this saves calls,
                // it is not what keeps them right).
                guard try await self.store.takeTurn(Self.bulkTurn(destination.id), holder: self.holder, lease: Self.bulkTurnLease, now: now) else {
                    continue
                }
                self.bulkLanes.running.insert(destination.id)
                ready.append(destination)
            }
        } catch {
            self.logger.error("could not read the bulk lanes", metadata: ["error": "\(error)"])
        }
        return ready
    }

    /// One bulk worker for a destination, under the turn `bulk:<destination>` (renewed while it
    /// works, released after): follows the jobs a previous run left, then sends the lane in jobs
    /// until it is empty.
    func bulkWork(_ destination: Destination) async {
        let store = self.store
        let (turn, holder, lease, logger) = (Self.bulkTurn(destination.id), self.holder, Self.bulkTurnLease, self.logger)
        let renewer = Task {
            while (try? await Task.sleep(for: .seconds(lease / 3))) != nil {
                if (try? await store.takeTurn(turn, holder: holder, lease: lease, now: Date())) == false {
                    logger.warning("another process took over this destination's bulk jobs", metadata: ["destination": "\(destination.id)"])
                    return
                }
            }
        }
        await self.bulkRound(destination, store: store)
        renewer.cancel()
        try? await store.releaseTurn(turn, holder: holder)
        self.bulkLanes.running.remove(destination.id)
        self.nudge([destination.id])
    }

    /// Follows the jobs a previous run left, then sends the lane in jobs until it is empty; backs
    /// off after trouble.
    private func bulkRound(_ destination: Destination, store: any BulkQueue) async {
        do {
            let client = try await self.clients.client(connectionId: destination.connectionId)
            var work = try await store.bulkWork(destinationId: destination.id)
            for job in work.unfinishedJobs {
                guard !self.stopping else { return }
                self.logger.notice("following a bulk job", metadata: ["destination": "\(destination.id)", "job": "\(job.id)", "state": "\(job.state)"])
                try await self.follow(job.id, closedHere: false, destination: destination, client: client, store: store)
            }
            if !work.unfinishedJobs.isEmpty { work = try await store.bulkWork(destinationId: destination.id) }
            while work.laneReady, !self.stopping,
                  !self.policy.isPaused(destinationId: destination.id, connectionId: destination.connectionId, now: Date()) {
                guard try await self.sendOneJob(destination, client: client, store: store) else { break }
                work = try await store.bulkWork(destinationId: destination.id)
            }
            self.bulkLanes.failures[destination.id] = nil
            self.bulkLanes.notBefore[destination.id] = nil
        } catch {
            if Task.isCancelled || error is CancellationError { return }
            let failures = (self.bulkLanes.failures[destination.id] ?? 0) + 1
            self.bulkLanes.failures[destination.id] = failures
            let wait = self.policy.backoff(attempt: failures, jitter: self.jitter())
            self.bulkLanes.notBefore[destination.id] = Date().addingTimeInterval(wait)
            self.logger.warning("bulk delivery failed, trying again later", metadata: [
                "destination": "\(destination.id)", "error": "\(error)", "waitSeconds": "\(Int(wait))",
            ])
        }
    }

    /// The turn of the process that fills and follows a destination's bulk jobs, renewed every
    /// third of its lease while it works.
    static func bulkTurn(_ destinationId: String) -> String { "bulk:\(destinationId)" }
    static let bulkTurnLease: TimeInterval = 60

    /// Creates one job, puts the lane's records of one set of columns in it, uploads, closes and
    /// follows it. False when the lane had nothing to send.
    private func sendOneJob(_ destination: Destination, client: SalesforceClient, store: any BulkQueue) async throws -> Bool {
        // An upsert destination's job matches by its external Id field, which is the queue's key.
        let keyColumn = Self.bulkKeyColumn(destination)
        let operation: BulkOperation = keyColumn == "Id" ? .update : .upsert(externalIdField: keyColumn)
        let job = try await self.bulkCall(destination) { try await client.createIngestJob(object: destination.objectType.rawValue, operation: operation) }
        try await store.recordBulkJob(id: job.id, destinationId: destination.id, object: destination.objectType.rawValue, now: Date())
        self.metrics.bulkJobsRunning(destinationId: destination.id, count: 1)
        var columns: [String]?
        var cursor: BulkLaneCursor?
        var csv: ByteBuffer?
        var records = 0
        var bytes = 0
        repeat {
            let page = try await store.claimForBulkJob(
                destinationId: destination.id, jobId: job.id, columns: columns, after: cursor, maxRecords: BulkTuning.claimPage,
                maxBytes: BulkTuning.maxJobBytes - bytes - (columns.map { BulkCSV.headerSize(columns: [keyColumn] + $0) } ?? 64 * 1024),
                rowSize: { values in BulkCSV.encodedSize(values.map { Optional(Self.wireValue($0)) }) },
                now: Date()
            )
            columns = page.columns
            cursor = page.cursor
            if let columns, !page.records.isEmpty {
                let header = [keyColumn] + columns
                let rows = page.records.map { record in [SalesforceAPI.FieldValue?.some(.string(record.recordId))] + record.values.map { Optional(Self.wireValue($0)) } }
                var chunk = BulkCSV.encode(columns: header, rows: rows)
                if csv == nil {
                    csv = chunk
                } else {
                    chunk.moveReaderIndex(forwardBy: BulkCSV.headerSize(columns: header))
                    csv?.writeBuffer(&chunk)
                }
                records += page.records.count
                bytes = csv?.readableBytes ?? 0
            }
            if page.full { break }
        } while cursor != nil && !self.stopping
        guard let columns, let csv, records > 0 else {
            // The lane emptied meanwhile (streaming changes took its records): nothing to send.
            _ = try? await self.bulkCall(destination) { try await client.abortIngestJob(jobId: job.id) }
            _ = try await store.returnBulkJobToLane(destinationId: destination.id, jobId: job.id, state: BulkJobState.aborted.rawValue, now: Date())
            self.metrics.bulkJobsRunning(destinationId: destination.id, count: 0)
            return false
        }
        try await store.updateBulkJob(id: job.id, state: job.state.rawValue, processed: 0, failed: 0, records: records, columns: columns, uploaded: nil)
        self.logger.info("bulk job created", metadata: [
            "destination": "\(destination.id)", "job": "\(job.id)", "records": "\(records)", "bytes": "\(csv.readableBytes)",
            "columns": "\(columns.joined(separator: ","))",
        ])
        guard !self.stopping else { return false }
        do {
            try await self.bulkCall(destination) { try await client.uploadIngestData(jobId: job.id, csv: csv) }
        } catch {
            // Never left open: the job is aborted and its records go back to the lane.
            self.logger.warning("bulk upload failed, aborting the job", metadata: ["destination": "\(destination.id)", "job": "\(job.id)", "error": "\(error)"])
            _ = try? await self.bulkCall(destination) { try await client.abortIngestJob(jobId: job.id) }
            _ = try await store.returnBulkJobToLane(destinationId: destination.id, jobId: job.id, state: BulkJobState.aborted.rawValue, now: Date())
            self.metrics.bulkJobFinished(destinationId: destination.id, state: BulkJobState.aborted.rawValue)
            self.metrics.bulkJobsRunning(destinationId: destination.id, count: 0)
            let failures = (self.bulkLanes.uploadFailures[destination.id] ?? 0) + 1
            self.bulkLanes.uploadFailures[destination.id] = failures
            if failures >= BulkTuning.maxUploadFailures {
                let moved = try await store.releaseBulkLane(destinationId: destination.id, now: Date())
                self.bulkLanes.uploadFailures[destination.id] = nil
                self.logger.error("bulk uploads keep failing: the lane goes by sObject Collections", metadata: [
                    "destination": "\(destination.id)", "records": "\(moved)",
                ])
                return false
            }
            throw error
        }
        self.bulkLanes.uploadFailures[destination.id] = nil
        var closed = false
        do {
            let info = try await self.bulkCall(destination) { try await client.closeIngestJob(jobId: job.id) }
            try await store.updateBulkJob(id: job.id, state: info.state.rawValue, processed: info.recordsProcessed, failed: info.recordsFailed, records: nil, columns: nil, uploaded: true)
            closed = true
        } catch {
            // Whether Salesforce closed it is unknown: polling says (an open job is aborted).
            self.logger.warning("closing the bulk job failed; polling it", metadata: ["destination": "\(destination.id)", "job": "\(job.id)", "error": "\(error)"])
        }
        try await self.follow(job.id, closedHere: closed, destination: destination, client: client, store: store)
        return true
    }

    /// Polls a job with backoff until Salesforce finishes it, then applies its results. A job still
    /// open was never closed (a crash or a failed close before `UploadComplete`): it is aborted and
    /// its records go back to the lane, since Salesforce processed none of them.
    private func follow(_ jobId: String, closedHere: Bool, destination: Destination, client: SalesforceClient, store: any BulkQueue) async throws {
        // First wait one base interval: a job just closed is rarely done at once.
        let base = self.options.backoffBase
        let cap = min(30, 30 * base)
        var wait = base
        if closedHere { try await Task.sleep(for: .milliseconds(Int64(wait * 1000))) }
        // At shutdown the job is left to run at Salesforce: the next start polls it.
        while !self.stopping {
            let info = try await self.bulkCall(destination) { try await client.ingestJob(jobId: jobId) }
            try await store.updateBulkJob(id: jobId, state: info.state.rawValue, processed: info.recordsProcessed, failed: info.recordsFailed, records: nil, columns: nil, uploaded: nil)
            switch info.state {
            case .open:
                _ = try? await self.bulkCall(destination) { try await client.abortIngestJob(jobId: jobId) }
                let returned = try await store.returnBulkJobToLane(destinationId: destination.id, jobId: jobId, state: BulkJobState.aborted.rawValue, now: Date())
                self.logger.notice("an open bulk job was aborted; its records are sent again", metadata: [
                    "destination": "\(destination.id)", "job": "\(jobId)", "records": "\(returned)",
                ])
                self.metrics.bulkJobFinished(destinationId: destination.id, state: BulkJobState.aborted.rawValue)
                self.metrics.bulkJobsRunning(destinationId: destination.id, count: 0)
                return
            case .uploadComplete, .inProgress:
                try await Task.sleep(for: .milliseconds(Int64(wait * 1000)))
                wait = min(wait * 2, cap)
            case .jobComplete, .failed, .aborted:
                try await self.applyResults(info, destination: destination, client: client, store: store)
                return
            }
        }
    }

    /// Reads the three result lists and applies them per record (correlated by Id, in any order).
    private func applyResults(_ info: BulkIngestJob, destination: Destination, client: SalesforceClient, store: any BulkQueue) async throws {
        let keyColumn = Self.bulkKeyColumn(destination)
        let upsert = keyColumn != "Id"
        // An upsert's key is the external Id value as sent; an update's is the record Id.
        func key(_ row: BulkResultRow) -> String { upsert ? row.key : Self.recordKey(row.key) }
        var results: [String: DeliveryResult] = [:]
        var acknowledged = 0
        var failed = 0
        var again = 0
        let now = Date()
        let lists: (successful: [BulkResultRow], refused: [BulkResultRow], unprocessed: [BulkResultRow])
        do {
            lists = (
                try await self.bulkCall(destination) { try await client.ingestJobResults(jobId: info.id, kind: .successful, keyColumn: keyColumn) },
                try await self.bulkCall(destination) { try await client.ingestJobResults(jobId: info.id, kind: .failed, keyColumn: keyColumn) },
                try await self.bulkCall(destination) { try await client.ingestJobResults(jobId: info.id, kind: .unprocessed, keyColumn: keyColumn) }
            )
        } catch {
            // A complete job's results are read again later; a failed or aborted job without
            // readable results has every record queued again (as not reported).
            guard info.state != .jobComplete, !(error is CancellationError) else { throw error }
            self.logger.warning("the results of a stopped bulk job could not be read; its records are queued again", metadata: [
                "destination": "\(destination.id)", "job": "\(info.id)", "error": "\(error)",
            ])
            lists = ([], [], [])
        }
        for row in lists.successful {
            // An upsert remembers the Id Salesforce answered, as with collections.
            if upsert, let id = row.salesforceId, !id.isEmpty {
                results[key(row)] = .acknowledgedAt(RecordAddress(salesforceId: id))
            } else {
                results[key(row)] = .acknowledged
            }
        }
        acknowledged = lists.successful.count
        let refused = lists.refused
        for row in refused {
            let code = row.errorCode ?? "UNKNOWN_EXCEPTION"
            let message = row.errorMessage ?? "Salesforce did not say why"
            if SalesforceAPI.RecordError.transientStatusCodes.contains(code) {
                let wait = self.policy.backoff(attempt: 1, jitter: self.jitter())
                results[key(row)] = .retry(code: code, message: message, at: now.addingTimeInterval(wait))
                again += 1
            } else {
                results[key(row)] = .failed(code: code, message: message, fields: Self.fields(in: message))
                failed += 1
            }
        }
        for row in lists.unprocessed {
            // Not processed (the job failed or was aborted first): queued again, nothing was written.
            results[key(row)] = .postpone(at: now)
            again += 1
        }
        // A record Salesforce did not report at all may or may not have been written: queued again,
        // and its fields are sent whatever Salesforce was last known to hold.
        let applied = try await store.applyBulkResults(
            destinationId: destination.id, jobId: info.id, results: results, unreported: .postpone(at: now, outcomeUnknown: true),
            state: info.state.rawValue, processed: info.recordsProcessed, failed: info.recordsFailed, pageSize: BulkTuning.applyPage, now: now
        )
        let unreported = max(0, applied - acknowledged - failed - again)
        self.metrics.bulkRecords(destinationId: destination.id, outcome: "acknowledged", count: acknowledged)
        self.metrics.bulkRecords(destinationId: destination.id, outcome: "failed", count: failed)
        self.metrics.bulkRecords(destinationId: destination.id, outcome: "queued_again", count: again + unreported)
        self.metrics.bulkJobFinished(destinationId: destination.id, state: info.state.rawValue)
        self.metrics.bulkJobsRunning(destinationId: destination.id, count: 0)
        self.metrics.record(results, claimed: [], destinationId: destination.id)
        if acknowledged > 0 { self.policy.delivered(destinationId: destination.id, connectionId: destination.connectionId) }
        self.logger.info("bulk job finished", metadata: [
            "destination": "\(destination.id)", "job": "\(info.id)", "state": "\(info.state.rawValue)", "records": "\(applied)",
            "acknowledged": "\(acknowledged)", "failed": "\(failed)", "queuedAgain": "\(again + unreported)",
        ])
    }

    /// One Salesforce call of the bulk lane, counted like collections' calls.
    private func bulkCall<T: Sendable>(_ destination: Destination, _ call: () async throws -> T) async throws -> T {
        let client = try await self.clients.client(connectionId: destination.connectionId)
        defer { self.metrics.apiCall(connectionId: destination.connectionId, usage: client.apiUsage) }
        return try await call()
    }

    /// The column a job's rows are keyed and correlated by: `Id` (update), or an upsert
    /// destination's external Id field.
    static func bulkKeyColumn(_ destination: Destination) -> String {
        destination.operation == .upsert ? (Self.externalIdField(of: destination) ?? "Id") : "Id"
    }

    /// The queue's key of an Id as Salesforce wrote it (15 or 18 characters).
    static func recordKey(_ id: String) -> String {
        (try? SalesforceRecordID(id))?.value ?? id
    }

    /// The field a bulk error names at its end (`...: data value too large: [LastName]`), if any.
    static func fields(in message: String) -> [String] {
        guard let open = message.lastIndex(of: "["), let close = message.lastIndex(of: "]"), open < close else { return [] }
        return message[message.index(after: open)..<close].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
