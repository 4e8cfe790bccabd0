import Activation
import Foundation

/// The queue's rules for one transaction, whatever database holds the rows: how a received
/// profile changes a record's entry, what a claim takes, how Salesforce's answers settle it, and
/// the counters and side rows (history, failures) each step changes. No I/O: a backend loads the
/// record rows a step needs, runs the step, saves the rows it changed and applies `effects`
/// (SQLite at once, row by row; PostgreSQL in batches), then writes the counters at the end.
package struct QueueLedger {
    package let now: Date
    package let hour: Int64
    package var runs: [RunKey: RunDelta] = [:]
    /// Audience membership count changes, written once at the end.
    package var audienceCounts: [AudienceCountKey: Int] = [:]
    /// Backlog count changes per destination (pending, in flight, retrying), written once at the end.
    package var queueCounts: [String: QueueCountDelta] = [:]
    /// Profiles this transaction created, added to the stored count once at the end.
    package var newProfiles = 0
    /// When set (a backfill of a destination with a bulk threshold), the records `receive` queued.
    package var queuedRecordIds: [String]?
    /// Per destination, whether it had any exclusion listed when this transaction first looked
    /// (or recorded one since): when not, there is none to clear for a record that is now valid.
    /// The backend fills it in before a step that may clear one (`needsExclusionCheck`).
    package var exclusionsListed: [String: Bool] = [:]
    /// Side rows to write, in order; the backend drains them.
    package var effects: [QueueEffect] = []

    /// Entries kept per record: older ones are dropped as new ones are written.
    package static let historyPerRecord = 50
    /// Entries a record may hold past `historyPerRecord` before the oldest are deleted.
    package static let historySlack = 25

    package init(now: Date) {
        self.now = now
        self.hour = hourStart(now)
    }

    package struct RunKey: Hashable {
        package var destinationId: String
        package var hour: Int64
    }

    package struct RunDelta {
        package var received = 0, activated = 0, unchanged = 0, excluded = 0, failed = 0
        package var resolved: Int { self.activated + self.unchanged + self.excluded + self.failed }
    }

    package struct AudienceCountKey: Hashable {
        package var segmentId: String
        package var status: AudienceStatus
    }

    package struct QueueCountDelta {
        package var pending = 0, inFlight = 0, retrying = 0
        package var isZero: Bool { self.pending == 0 && self.inFlight == 0 && self.retrying == 0 }

        mutating func add(_ category: QueueRecord.QueueCategory?, _ change: Int) {
            switch category {
            case .pending: self.pending += change
            case .inFlight: self.inFlight += change
            case .retrying: self.retrying += change
            case nil: break
            }
        }
    }

    // MARK: counters

    package mutating func count(_ destinationId: String, hour: Int64, _ change: (inout RunDelta) -> Void) {
        change(&self.runs[RunKey(destinationId: destinationId, hour: hour), default: RunDelta()])
    }

    /// Audience counts follow the statuses a merge changed.
    package mutating func countMemberships(before: Profile, after: Profile, changed: Dictionary<String, AudienceMembership>.Keys) {
        for segment in changed {
            let old = before.memberships[segment]?.status
            let new = after.memberships[segment]?.status
            guard old != new else { continue }
            if let old { self.audienceCounts[AudienceCountKey(segmentId: segment, status: old), default: 0] -= 1 }
            if let new { self.audienceCounts[AudienceCountKey(segmentId: segment, status: new), default: 0] += 1 }
        }
    }

    /// A record row is being written: the backlog counters follow its category.
    package mutating func saving(_ row: QueueRecord) {
        let (before, after) = (row.storedCategory, row.category)
        guard before != after else { return }
        self.queueCounts[row.destinationId, default: QueueCountDelta()].add(before, -1)
        self.queueCounts[row.destinationId, default: QueueCountDelta()].add(after, 1)
    }

    /// A record row is being deleted (an erased profile's): it leaves the backlog counters.
    package mutating func deleting(_ row: QueueRecord) {
        guard row.exists else { return }
        self.queueCounts[row.destinationId, default: QueueCountDelta()].add(row.storedCategory, -1)
    }

    // MARK: side rows

    /// Appends one entry to a record's history. The row counts its entries; past
    /// `historyPerRecord + historySlack` the oldest are pruned down to `historyPerRecord`, so the
    /// pruning runs once every `historySlack` entries instead of on every one.
    package mutating func history(_ entry: RecordHistoryEntry, for record: inout QueueRecord) {
        self.effects.append(.history(destinationId: record.destinationId, recordId: record.recordId, entry))
        record.historyEntries += 1
        guard record.historyEntries > Self.historyPerRecord + Self.historySlack else { return }
        self.effects.append(.pruneHistory(destinationId: record.destinationId, recordId: record.recordId, keep: Self.historyPerRecord))
        record.historyEntries = Self.historyPerRecord
    }

    /// The history entry of one delivery result, for the attempt the record was on.
    package mutating func history(of result: DeliveryResult, attempt: Int, for record: inout QueueRecord) {
        let entry: RecordHistoryEntry
        switch result {
        case .acknowledged, .acknowledgedAt:
            entry = RecordHistoryEntry(at: self.now, event: .acknowledged, attempt: attempt)
        case .retry(let code, let message, _, _):
            entry = RecordHistoryEntry(at: self.now, event: .retry, attempt: attempt, code: code, message: message)
        case .postpone:
            entry = RecordHistoryEntry(at: self.now, event: .postponed, attempt: attempt)
        case .failed(let code, let message, let fields):
            entry = RecordHistoryEntry(at: self.now, event: .failed, attempt: attempt, code: code, message: message, errorFields: fields)
        }
        self.history(entry, for: &record)
    }

    package mutating func recordFailure(
        destinationId: String, recordKey: String, kind: String, code: String, message: String, fields: [String], sent: [String: FieldValue]?
    ) {
        self.effects.append(.failure(QueueFailure(
            destinationId: destinationId, recordKey: recordKey, kind: kind, code: code, message: message, fields: fields, sent: sent, at: self.now
        )))
        if kind == "excluded" { self.exclusionsListed[destinationId] = true }
    }

    /// Removes a record's listed failure (or only its exclusion).
    package mutating func clearFailure(_ destinationId: String, _ recordKey: String, onlyExclusion: Bool) {
        self.effects.append(.clearFailure(destinationId: destinationId, recordKey: recordKey, onlyExclusion: onlyExclusion))
    }

    /// The side rows asked for since the last call, in order, handed to the backend to write.
    package mutating func takeEffects() -> [QueueEffect] {
        defer { self.effects.removeAll(keepingCapacity: true) }
        return self.effects
    }

    /// Whether the backend must look up if `destinationId` has any exclusion listed before `receive`.
    package func needsExclusionCheck(_ destinationId: String) -> Bool { self.exclusionsListed[destinationId] == nil }

    // MARK: the way in

    /// A profile the destination excludes: counted, and listed with its reason.
    package mutating func exclude(_ exclusion: Exclusion, profileId: Int64, destinationId: String) -> OutcomeCounts {
        var counts = OutcomeCounts()
        counts.received = 1
        counts.excluded = 1
        self.count(destinationId, hour: self.hour) { $0.received += 1; $0.excluded += 1 }
        self.recordFailure(
            destinationId: destinationId, recordKey: exclusion.recordId ?? "profile:\(profileId)", kind: "excluded",
            code: exclusion.code.rawValue, message: exclusion.message, fields: exclusion.field.map { [$0] } ?? [], sent: nil
        )
        return counts
    }

    /// A profile refused consent: the record's change not sent yet is withdrawn, its waiting
    /// profiles counted as excluded. True when the row changed (the caller writes it).
    package mutating func withdraw(destinationId: String, row: inout QueueRecord) -> Bool {
        guard row.exists, var entry = row.pending, !entry.fields.isEmpty else { return false }
        for (hour, count) in entry.withdrawQueued() {
            self.count(destinationId, hour: hour) { $0.excluded += count }
        }
        row.pending = entry.isSettled ? nil : entry
        if row.pending == nil {
            row.dueAt = nil
            row.queuedAt = nil
            row.changedAt = nil
            row.attempts = 0
            row.retentionUsed = 0
        }
        self.saving(row)
        return true
    }

    /// What a destination wants of a record, received into its row (as read, or new); `write`
    /// says whether the row changed and must be saved. Call `needsExclusionCheck` first.
    package mutating func receive(_ desired: DesiredRecord, destinationId: String, row: inout QueueRecord) -> (counts: OutcomeCounts, write: Bool) {
        var counts = OutcomeCounts()
        counts.received = 1
        self.count(destinationId, hour: self.hour) { $0.received += 1 }
        var entry = row.pending ?? PendingRecord()
        let queuedBefore = entry.fields
        let outcome = entry.receive(desired, acknowledged: row.acknowledged, hour: self.hour)
        if outcome.changed {
            counts.queued = 1
            // The values to send are new: latency is timed from now (the same values received
            // again keep the time they were first accepted).
            if entry.fields != queuedBefore { row.changedAt = self.now }
            self.queuedRecordIds?.append(desired.key)
        } else {
            counts.unchanged = 1
            self.count(destinationId, hour: self.hour) { $0.unchanged += 1 }
        }
        for (hour, resolved) in outcome.resolvedUnchanged {
            self.count(destinationId, hour: hour) { $0.unchanged += resolved }
        }
        let loaded = row
        if row.pending == nil && !entry.isSettled { row.queuedAt = self.now }
        row.pending = entry.isSettled ? nil : entry
        if row.dueAt == nil || row.pending == nil { row.dueAt = row.pending == nil ? nil : self.now }
        if self.exclusionsListed[destinationId] ?? true {
            self.clearFailure(destinationId, desired.key, onlyExclusion: true)
        }
        // An unchanged profile for a settled record leaves its row as it was: nothing to write.
        let write = row != loaded || !row.exists
        if write { self.saving(row) }
        return (counts, write)
    }

    // MARK: the way out

    /// Whether a claim takes nothing yet: a partial batch (fewer than `limit`, no expired claim
    /// among them) whose oldest record has not been due for `partialAfter` seconds waits for company.
    package func waitsForCompany(expired: [QueueRecord], due: [QueueRecord], limit: Int, partialAfter: TimeInterval) -> Bool {
        guard expired.count + due.count < limit, partialAfter > 0, expired.isEmpty, let oldest = due.compactMap(\.dueAt).min() else {
            return false
        }
        return oldest > self.now.addingTimeInterval(-partialAfter)
    }

    /// Takes the candidate rows (expired claims first, then due ones) under one claim `token`
    /// until `lease` from now. Returns what to send and the rows to save (already counted).
    package mutating func claim(
        _ rows: [QueueRecord], destinationId: String, lease: TimeInterval, token: Int64
    ) -> (claimed: [ClaimedRecord], save: [QueueRecord]) {
        var claimed: [ClaimedRecord] = []
        var save: [QueueRecord] = []
        for var record in rows {
            guard var entry = record.pending else { continue }
            if entry.inFlight != nil {
                // A send whose claim expired may or may not have reached Salesforce.
                record.forgetAcknowledgement(of: entry)
                entry.retry()
            }
            guard let claim = entry.claim(acknowledged: record.acknowledged) else { continue }
            for (hour, count) in claim.alreadyHeld {
                self.count(destinationId, hour: hour) { $0.activated += count }
            }
            record.pending = entry.isSettled ? nil : entry
            record.claimedUntil = self.now.addingTimeInterval(lease)
            record.claimToken = token
            if !claim.fields.isEmpty {
                // History (monitoring): what is sent, on which attempt.
                self.history(RecordHistoryEntry(at: self.now, event: .sent, attempt: record.attempts + 1, fields: claim.fields), for: &record)
            }
            self.saving(record)
            save.append(record)
            if !claim.fields.isEmpty {
                claimed.append(ClaimedRecord(
                    recordId: record.recordId, fields: claim.fields, attempts: record.attempts,
                    queuedAt: record.queuedAt ?? self.now, retentionUsed: record.retentionUsed,
                    address: record.salesforceId.map { RecordAddress(salesforceId: $0, objectType: record.targetObject) },
                    claim: token, acceptedAt: record.changedAt ?? record.queuedAt ?? self.now
                ))
            }
        }
        return (claimed, save)
    }

    /// Whether an answer may be applied to `record`: it is in flight, and held by `claim` (nil:
    /// a bulk job holds it, fenced by the job instead).
    package static func holds(_ record: QueueRecord, claim: Int64?) -> Bool {
        record.pending?.inFlight != nil && (claim == nil || record.claimToken == claim)
    }

    /// Applies Salesforce's answer to a record `holds` said yes to; the row is then to be saved
    /// (already counted). Returns whether it was delivered (the destination's last delivery).
    package mutating func apply(_ result: DeliveryResult, to record: inout QueueRecord) -> Bool {
        guard var entry = record.pending, entry.inFlight != nil else { return false }
        let destinationId = record.destinationId
        var delivered = false
        // History (monitoring): the outcome of the attempt.
        self.history(of: result, attempt: record.attempts + 1, for: &record)
        switch result {
        case .acknowledged, .acknowledgedAt:
            if case .acknowledgedAt(let address) = result {
                record.salesforceId = address.salesforceId
                record.targetObject = address.objectType ?? record.targetObject
            }
            let (sent, activated) = entry.succeeded()
            record.acknowledged.merge(sent) { _, new in new }
            record.acknowledgedAt = self.now
            record.attempts = 0
            record.retentionUsed = 0
            record.lastErrorCode = nil
            record.lastErrorMessage = nil
            for (hour, count) in activated { self.count(destinationId, hour: hour) { $0.activated += count } }
            self.clearFailure(destinationId, record.recordId, onlyExclusion: false)
            record.dueAt = self.now
            delivered = true
        case .postpone(let at, let outcomeUnknown):
            if outcomeUnknown { record.forgetAcknowledgement(of: entry) }
            entry.retry()
            record.dueAt = at
        case .retry(let code, let message, let at, let outcomeUnknown):
            if outcomeUnknown { record.forgetAcknowledgement(of: entry) }
            entry.retry()
            record.attempts += 1
            // The wait until the next attempt uses the retention window; a pause does not
            // (postponed records and records waiting past their due time add nothing).
            record.retentionUsed += max(0, at.timeIntervalSince(self.now))
            record.lastErrorCode = code
            record.lastErrorMessage = message
            record.dueAt = at
        case .failed(let code, let message, let fields):
            let (sent, failed) = entry.failed()
            for (hour, count) in failed { self.count(destinationId, hour: hour) { $0.failed += count } }
            self.recordFailure(
                destinationId: destinationId, recordKey: record.recordId, kind: "failed", code: code, message: message,
                fields: fields, sent: sent
            )
            record.attempts = 0
            record.retentionUsed = 0
            record.lastErrorCode = code
            record.lastErrorMessage = message
            record.dueAt = self.now
        }
        record.pending = entry.isSettled ? nil : entry
        if record.pending == nil {
            record.queuedAt = nil
            record.changedAt = nil
        } else if result.isAcknowledgement {
            record.queuedAt = self.now
        }
        self.saving(record)
        return delivered
    }

    /// A person replays a failed record: what it sent is queued again under any newer change.
    /// The row is then to be saved (already counted).
    package mutating func replay(_ record: inout QueueRecord, sent: [String: FieldValue], code: String) {
        var entry = record.pending ?? PendingRecord()
        entry.fields = sent.merging(entry.fields) { _, newer in newer }
        entry.waiting[self.hour, default: 0] += 1
        self.count(record.destinationId, hour: self.hour) { $0.received += 1 }
        if record.pending == nil {
            record.queuedAt = self.now
            record.dueAt = self.now
        }
        record.changedAt = self.now
        // History (monitoring): a person replayed the failure.
        self.history(RecordHistoryEntry(at: self.now, event: .replayed, attempt: 0, code: code, fields: sent), for: &record)
        record.pending = entry
        self.clearFailure(record.destinationId, record.recordId, onlyExclusion: false)
        self.saving(record)
    }
}

// MARK: the bulk lane

/// Runs `page` (one transaction each) until it reports fewer than `pageSize` rows (`pageSize` 1:
/// until one reports none); returns the rows of all pages. Big applies are cut in pages so no
/// transaction holds the writer (SQLite) or thousands of row locks (PostgreSQL) for long.
package func inPages(of pageSize: Int, _ page: () async throws -> Int) async throws -> Int {
    var total = 0
    while true {
        let count = try await page()
        total += count
        if count < max(1, pageSize) { return total }
    }
}

/// A bulk job being filled from the lane, page by page (`BulkQueue.claimForBulkJob`).
package struct BulkJobFill {
    package var columns: [String]?
    package var cursor: BulkLaneCursor
    package var taken: [(recordId: String, values: [FieldValue])] = []
    package var bytes = 0
    package var full = false
    let maxRecords: Int
    let maxBytes: Int

    package init(columns: [String]?, after: BulkLaneCursor?, maxRecords: Int, maxBytes: Int) {
        self.columns = columns
        self.cursor = after ?? BulkLaneCursor(attempts: Int.min, recordId: "")
        self.maxRecords = maxRecords
        self.maxBytes = maxBytes
    }

    /// No more records go in: the record or byte budget is spent.
    package var isDone: Bool { self.full || self.taken.count >= self.maxRecords }

    package func page(exhausted: Bool) -> BulkLanePage {
        BulkLanePage(columns: self.columns, records: self.taken, cursor: exhausted || self.full ? nil : self.cursor, full: self.full)
    }
}

/// What to do with one lane record offered to a bulk job.
package enum BulkLaneStep {
    /// Left in the lane (in flight elsewhere, or other columns), or the job is full: nothing to write.
    case leave
    /// Save the row (already counted); `entersJob` when it now belongs to the job.
    case save(QueueRecord, entersJob: Bool)
}

extension QueueLedger {
    /// Offers one lane record (in the lane's order) to the job being filled: the claim's own rule
    /// (fields Salesforce already holds are not sent), and only records whose fields to send are
    /// exactly the job's columns, while their CSV rows (`rowSize`) fit in the byte budget.
    package mutating func offer(
        _ offered: QueueRecord, to fill: inout BulkJobFill, rowSize: ([FieldValue]) -> Int
    ) -> BulkLaneStep {
        var record = offered
        let here = BulkLaneCursor(attempts: record.attempts, recordId: record.recordId)
        guard var entry = record.pending, entry.inFlight == nil else {
            fill.cursor = here
            return .leave
        }
        let toSend = entry.fields.filter { record.acknowledged[$0.key] != $0.value }
        let keys = toSend.keys.sorted()
        if !keys.isEmpty {
            if fill.columns == nil { fill.columns = keys }
            guard keys == fill.columns else {
                fill.cursor = here
                return .leave
            }
            let values = keys.map { toSend[$0] ?? .null }
            let size = rowSize([.string(record.recordId)] + values)
            if fill.bytes + size > fill.maxBytes {
                fill.full = true
                return .leave
            }
            fill.bytes += size
            fill.taken.append((record.recordId, values))
        }
        fill.cursor = here
        guard let claim = entry.claim(acknowledged: record.acknowledged) else { return .leave }
        for (hour, count) in claim.alreadyHeld {
            self.count(record.destinationId, hour: hour) { $0.activated += count }
        }
        record.pending = entry.isSettled ? nil : entry
        // A record in a job has no lease that could expire: the job's results settle it.
        record.claimedUntil = nil
        record.claimToken = nil
        if !claim.fields.isEmpty {
            self.history(RecordHistoryEntry(at: self.now, event: .sent, attempt: record.attempts + 1, fields: claim.fields), for: &record)
        }
        self.saving(record)
        return .save(record, entersJob: !claim.fields.isEmpty)
    }

    /// A job Salesforce never processed: what it held is queued again, under any newer change.
    /// The row is then to be saved (already counted).
    package mutating func returnToLane(_ record: inout QueueRecord, jobState: String) {
        if var entry = record.pending {
            entry.retry()
            record.pending = entry.isSettled ? nil : entry
            self.history(
                RecordHistoryEntry(at: self.now, event: .postponed, attempt: record.attempts + 1, code: "BULK_JOB_\(jobState.uppercased())"),
                for: &record
            )
        }
        self.saving(record)
    }
}

/// Which listed failures a replay takes (`MonitoringStore.retryFailures`).
package struct ReplaySelection {
    let codes: [String]?
    let recordIds: [String]?

    package init(codes: [String]?, recordIds: [String]?) {
        self.codes = codes
        self.recordIds = recordIds
    }

    /// The Salesforce Ids among the asked record Ids: a record written to one of them (an upsert's
    /// answer, a followed lead's Contact) is asked for too; the backend looks their keys up.
    package var salesforceIds: [String] { self.recordIds?.compactMap { try? SalesforceRecordID($0).value } ?? [] }

    /// Whether a failure with `key` and `code` is replayed; `keysOfSalesforceIds` are the record
    /// keys the backend found for `salesforceIds`.
    package func takes(key: String, code: String, keysOfSalesforceIds: Set<String>) -> Bool {
        if let codes = self.codes, !codes.contains(code) { return false }
        guard let recordIds = self.recordIds else { return true }
        // An Id in either spelling, or an upsert destination's external Id value as given.
        let wanted = Set(recordIds.flatMap { [(try? SalesforceRecordID($0))?.value ?? $0, $0] })
        return wanted.contains(key) || keysOfSalesforceIds.contains(key)
    }
}

/// A side row a queue step writes besides the record rows.
package enum QueueEffect {
    case history(destinationId: String, recordId: String, RecordHistoryEntry)
    /// Keep only the newest `keep` history entries of the record.
    case pruneHistory(destinationId: String, recordId: String, keep: Int)
    /// Insert or replace the record's listed failure or exclusion.
    case failure(QueueFailure)
    case clearFailure(destinationId: String, recordKey: String, onlyExclusion: Bool)
}

/// A listed failure (`kind` "failed") or exclusion (`kind` "excluded") of a record.
package struct QueueFailure {
    package var destinationId: String
    package var recordKey: String
    package var kind: String
    package var code: String
    package var message: String
    package var fields: [String]
    package var sent: [String: FieldValue]?
    package var at: Date
}

/// One record row of a destination's queue: read, changed in memory, written back once.
package struct QueueRecord: Equatable {
    package var destinationId: String
    package var recordId: String
    package var acknowledged: [String: FieldValue] = [:]
    package var acknowledgedAt: Date?
    package var pending: PendingRecord?
    package var dueAt: Date?
    package var claimedUntil: Date?
    /// The token of the claim holding the record while it is in flight (`DeliveryQueue`).
    package var claimToken: Int64?
    package var queuedAt: Date?
    /// When the newest change queued for the record was accepted (what delivery's latency is
    /// timed from once Salesforce acknowledges it).
    package var changedAt: Date?
    package var attempts = 0
    /// Seconds of the retention window used by the current change (the waits between its
    /// transient failures; reset when it settles).
    package var retentionUsed: TimeInterval = 0
    package var lastErrorCode: String?
    package var lastErrorMessage: String?
    /// The Salesforce Id writes go to when the key is not it: the Id an upsert answered, or a
    /// converted lead's Contact.
    package var salesforceId: String?
    /// The object writes go to when it is not the destination's (a converted lead's Contact).
    package var targetObject: String?
    /// Entries in the record's history (pruned back to `historyPerRecord` in steps).
    package var historyEntries = 0
    /// Whether the row was read from the table (false: a new one).
    package var exists = false
    /// The backlog category the row had when it was read (nil: new or settled).
    package var storedCategory: QueueCategory?

    package init(destinationId: String, recordId: String) {
        self.destinationId = destinationId
        self.recordId = recordId
    }

    package enum QueueCategory: Equatable {
        case pending, inFlight, retrying
    }

    /// Where the row counts in the backlog: queued rows are in flight, retrying after a
    /// transient failure, or pending; settled rows count nowhere.
    package var category: QueueCategory? {
        guard let pending = self.pending else { return nil }
        if pending.inFlight != nil { return .inFlight }
        return self.attempts > 0 ? .retrying : .pending
    }

    /// The row as read, remembering its backlog category.
    package func withStoredCategory() -> QueueRecord {
        var row = self
        row.storedCategory = row.category
        return row
    }

    /// After a send whose outcome is unknown, Salesforce may hold its values or the ones
    /// acknowledged before: neither is known any more, so those fields are sent again whatever
    /// a later profile wants (never skipped as "already held").
    package mutating func forgetAcknowledgement(of entry: PendingRecord) {
        guard let inFlight = entry.inFlight else { return }
        for field in inFlight.keys {
            self.acknowledged[field] = nil
        }
    }
}
