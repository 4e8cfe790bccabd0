import Activation
import Foundation
import GRDB

extension SQLiteStore {
    public func ingest(_ fragments: [Profile], into destinations: [ActiveDestination], at now: Date) async throws -> IngestSummary {
        try await self.write { db in
            var writer = QueueWriter(db: db, now: now)
            var summary = IngestSummary()
            for fragment in fragments {
                let (profileId, merged) = try writer.mergeProfile(fragment)
                summary.profiles += 1
                for destination in destinations {
                    let counts = try writer.fanOut(merged, profileId: profileId, to: destination)
                    if counts.received > 0 { summary.perDestination[destination.id, default: OutcomeCounts()] += counts }
                }
            }
            try writer.flush()
            return summary
        }
    }

    public func backfill(_ destination: ActiveDestination, after: Int64, limit: Int, at now: Date) async throws -> BackfillProgress {
        try await self.write { db in
            var writer = QueueWriter(db: db, now: now)
            var counts = OutcomeCounts()
            var last: Int64?
            let page = try SQLiteCall(db, "SELECT id, body FROM profiles WHERE id > ? ORDER BY id LIMIT ?")
            page.reset()
            page.bind(1, after)
            page.bind(2, limit)
            var profiles: [(id: Int64, profile: Profile)] = []
            while try page.step() {
                profiles.append((page.int64(0) ?? 0, page.withBytes(1) { $0.map(StoredBinary.decodeProfile) ?? Profile() }))
            }
            page.reset()
            for (id, profile) in profiles {
                counts += try writer.fanOut(profile, profileId: id, to: destination)
                last = id
            }
            try writer.flush()
            let next = profiles.count < limit ? nil : last
            // The cursor moves in the same transaction as the page: a crash resumes exactly here.
            try db.execute(sql: "UPDATE destinations SET backfill_after = ? WHERE id = ?", arguments: [next, destination.id])
            return BackfillProgress(nextAfter: next, counts: counts)
        }
    }

    public func startBackfill(destinationId: String) async throws {
        try await self.write { db in
            try db.execute(sql: "UPDATE destinations SET backfill_after = 0 WHERE id = ?", arguments: [destinationId])
        }
    }

    public func runningBackfills() async throws -> [String: Int64] {
        try await self.pool.read { db in
            var cursors: [String: Int64] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, backfill_after FROM destinations WHERE backfill_after IS NOT NULL") {
                cursors[row["id"]] = row["backfill_after"]
            }
            return cursors
        }
    }
}

/// The writes of one transaction that touches profiles and queues, with prepared statements and
/// run counters added up in memory until the end.
struct QueueWriter {
    let db: Database
    let now: Date
    let hour: Int64
    /// This transaction's hot statements, prepared once.
    let calls: QueueCalls
    private var runs: [RunKey: RunDelta] = [:]
    /// Per destination, whether it had any exclusion listed when this transaction first looked
    /// (or recorded one since): when not, there is none to clear for a record that is now valid.
    private var exclusionsListed: [String: Bool] = [:]
    /// Audience membership count changes of this transaction, written once at the end.
    private var audienceCounts: [AudienceCountKey: Int] = [:]
    /// Backlog count changes per destination (pending, in flight, retrying), written once at the end.
    private var queueCounts: [String: QueueCountDelta] = [:]
    /// Profiles this transaction created, added to the stored count once at the end.
    private var newProfiles = 0

    struct QueueCountDelta {
        var pending = 0, inFlight = 0, retrying = 0

        mutating func add(_ category: RecordRow.QueueCategory?, _ change: Int) {
            switch category {
            case .pending: self.pending += change
            case .inFlight: self.inFlight += change
            case .retrying: self.retrying += change
            case nil: break
            }
        }
    }

    struct AudienceCountKey: Hashable {
        var segmentId: String
        var status: AudienceStatus
    }

    struct RunKey: Hashable {
        var destinationId: String
        var hour: Int64
    }

    struct RunDelta {
        var received = 0, activated = 0, unchanged = 0, excluded = 0, failed = 0
    }

    init(db: Database, now: Date) {
        self.db = db
        self.now = now
        self.hour = hourStart(now)
        self.calls = QueueCalls(db: db)
    }

    // MARK: profiles

    /// Finds the stored profile of any of the fragment's identities, merges, and saves.
    mutating func mergeProfile(_ fragment: Profile) throws -> (Int64, Profile) {
        let lookup = try self.calls(.identityLookup)
        var profileId: Int64?
        var foundBy: (namespace: String, value: String)?
        search: for (namespace, ids) in fragment.identities.sorted(by: { $0.key < $1.key }) {
            for id in ids {
                lookup.reset()
                lookup.bind(1, namespace)
                lookup.bind(2, id)
                if try lookup.step(), let found = lookup.int64(0) {
                    profileId = found
                    foundBy = (namespace, id)
                    lookup.reset()
                    break search
                }
            }
        }
        lookup.reset()
        var stored = Profile()
        if let profileId {
            let load = try self.calls(.profileLoad)
            load.reset()
            load.bind(1, profileId)
            if try load.step() {
                stored = load.withBytes(0) { bytes in bytes.map(StoredBinary.decodeProfile) ?? Profile() }
            }
            load.reset()
        }
        let merged = stored.merging(fragment)
        let id: Int64
        if let profileId {
            // A resent profile that changes nothing is not written again.
            if merged != stored {
                let update = try self.calls(.profileUpdate)
                update.bind(1, blob: StoredBinary.profile(merged))
                update.bind(2, self.now.timeIntervalSince1970)
                update.bind(3, profileId)
                try update.run()
            }
            id = profileId
        } else {
            let insert = try self.calls(.profileInsert)
            insert.bind(1, blob: StoredBinary.profile(merged))
            insert.bind(2, self.now.timeIntervalSince1970)
            try insert.run()
            id = self.db.lastInsertedRowID
            self.newProfiles += 1
        }
        let link = try self.calls(.identityLink)
        for (namespace, ids) in fragment.identities {
            for value in ids where !(foundBy?.namespace == namespace && foundBy?.value == value) {
                link.bind(1, namespace)
                link.bind(2, value)
                link.bind(3, id)
                try link.run()
            }
        }
        self.countMemberships(before: stored, after: merged, changed: fragment.memberships.keys)
        return (id, merged)
    }

    private mutating func countMemberships(before: Profile, after: Profile, changed: Dictionary<String, AudienceMembership>.Keys) {
        for segment in changed {
            let old = before.memberships[segment]?.status
            let new = after.memberships[segment]?.status
            guard old != new else { continue }
            if let old { self.audienceCounts[AudienceCountKey(segmentId: segment, status: old), default: 0] -= 1 }
            if let new { self.audienceCounts[AudienceCountKey(segmentId: segment, status: new), default: 0] += 1 }
        }
    }

    private mutating func flushQueueCounts() throws {
        let add = try self.db.cachedStatement(sql: """
            INSERT INTO queue_counts (destination_id, pending, in_flight, retrying) VALUES (?, ?, ?, ?)
            ON CONFLICT(destination_id) DO UPDATE SET pending = pending + excluded.pending,
                in_flight = in_flight + excluded.in_flight, retrying = retrying + excluded.retrying
            """)
        for (destinationId, delta) in self.queueCounts where delta.pending != 0 || delta.inFlight != 0 || delta.retrying != 0 {
            try add.execute(arguments: [destinationId, delta.pending, delta.inFlight, delta.retrying])
        }
        self.queueCounts = [:]
    }

    private mutating func flushAudienceCounts() throws {
        let add = try self.db.cachedStatement(sql: """
            INSERT INTO audience_counts (segment_id, status, count) VALUES (?, ?, ?)
            ON CONFLICT(segment_id, status) DO UPDATE SET count = count + excluded.count
            """)
        for (key, change) in self.audienceCounts where change != 0 {
            try add.execute(arguments: [key.segmentId, key.status.rawValue, change])
        }
        self.audienceCounts = [:]
    }

    // MARK: queues

    /// Evaluates a profile for one destination and queues what changed.
    mutating func fanOut(_ profile: Profile, profileId: Int64, to destination: ActiveDestination) throws -> OutcomeCounts {
        var counts = OutcomeCounts()
        switch destination.plan.evaluate(profile) {
        case .notReceived:
            return counts
        case .excluded(let exclusion):
            counts.received = 1
            counts.excluded = 1
            self.count(destination.id, hour: self.hour) { $0.received += 1; $0.excluded += 1 }
            try self.recordFailure(
                destinationId: destination.id, recordKey: exclusion.recordId ?? "profile:\(profileId)", kind: "excluded",
                code: exclusion.code.rawValue, message: exclusion.message, fields: exclusion.field.map { [$0] } ?? [], sent: nil
            )
            self.exclusionsListed[destination.id] = true
        case .record(let desired):
            counts.received = 1
            self.count(destination.id, hour: self.hour) { $0.received += 1 }
            var row = try self.loadRecord(destination.id, desired.id.value)
            var entry = row.pending ?? PendingRecord()
            let outcome = entry.receive(desired, acknowledged: row.acknowledged, hour: self.hour)
            if outcome.changed {
                counts.queued = 1
            } else {
                counts.unchanged = 1
                self.count(destination.id, hour: self.hour) { $0.unchanged += 1 }
            }
            for (hour, resolved) in outcome.resolvedUnchanged {
                self.count(destination.id, hour: hour) { $0.unchanged += resolved }
            }
            let loaded = row
            if row.pending == nil && !entry.isSettled { row.queuedAt = self.now }
            row.pending = entry.isSettled ? nil : entry
            if row.dueAt == nil || row.pending == nil { row.dueAt = row.pending == nil ? nil : self.now }
            // An unchanged profile for a settled record leaves its row as it was: nothing to write.
            if row != loaded || !row.exists { try self.saveRecord(row) }
            if try self.hasExclusions(destination.id) {
                try self.clearFailure(destination.id, desired.id.value, onlyExclusion: true)
            }
        }
        return counts
    }

    mutating func count(_ destinationId: String, hour: Int64, _ change: (inout RunDelta) -> Void) {
        change(&self.runs[RunKey(destinationId: destinationId, hour: hour), default: RunDelta()])
    }

    /// Writes what this transaction added up in memory: run, audience and backlog counts.
    mutating func flush() throws {
        try self.flushAudienceCounts()
        try self.flushQueueCounts()
        if self.newProfiles > 0 {
            try self.db.cachedStatement(sql: "UPDATE store_counts SET value = value + ? WHERE name = 'profiles'")
                .execute(arguments: [self.newProfiles])
            self.newProfiles = 0
        }
        // A window's processing time runs from its first received profile to its last resolution.
        let upsert = try self.db.cachedStatement(sql: """
            INSERT INTO runs (destination_id, hour_start, received, activated, unchanged, excluded, failed,
                first_received_at, last_resolved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(destination_id, hour_start) DO UPDATE SET received = received + excluded.received,
                activated = activated + excluded.activated, unchanged = unchanged + excluded.unchanged,
                excluded = excluded + excluded.excluded, failed = failed + excluded.failed,
                first_received_at = COALESCE(first_received_at, excluded.first_received_at),
                last_resolved_at = COALESCE(MAX(last_resolved_at, excluded.last_resolved_at), last_resolved_at, excluded.last_resolved_at)
            """)
        let now = self.now.timeIntervalSince1970
        for (key, delta) in self.runs {
            let resolved = delta.activated + delta.unchanged + delta.excluded + delta.failed
            try upsert.execute(arguments: [
                key.destinationId, key.hour, delta.received, delta.activated, delta.unchanged, delta.excluded, delta.failed,
                delta.received > 0 ? now : nil, resolved > 0 ? now : nil,
            ])
        }
        self.runs = [:]
    }

    /// Removes a record's listed failure (or only its exclusion).
    func clearFailure(_ destinationId: String, _ recordKey: String, onlyExclusion: Bool) throws {
        let clear = try self.calls(onlyExclusion ? .exclusionDelete : .failureDelete)
        clear.bind(1, destinationId)
        clear.bind(2, recordKey)
        try clear.run()
    }

    mutating func hasExclusions(_ destinationId: String) throws -> Bool {
        if let known = self.exclusionsListed[destinationId] { return known }
        let any = try Bool.fetchOne(
            self.db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM failures WHERE destination_id = ? AND kind = 'excluded')"),
            arguments: [destinationId]
        ) ?? true
        self.exclusionsListed[destinationId] = any
        return any
    }

    func recordFailure(destinationId: String, recordKey: String, kind: String, code: String, message: String, fields: [String], sent: [String: FieldValue]?) throws {
        try self.db.cachedStatement(sql: """
            INSERT INTO failures (destination_id, record_key, kind, code, message, fields, sent, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(destination_id, record_key) DO UPDATE SET kind = excluded.kind, code = excluded.code,
                message = excluded.message, fields = excluded.fields, sent = excluded.sent, at = excluded.at
            """).execute(arguments: [
                destinationId, recordKey, kind, code, message, StoredJSON.encode(fields), sent.map(StoredJSON.encodeFields),
                self.now.timeIntervalSince1970,
            ])
    }

    // MARK: record rows

    struct RecordRow: Equatable {
        /// The row as read, remembering its backlog category.
        func withStoredCategory() -> RecordRow {
            var row = self
            row.storedCategory = row.category
            return row
        }

        /// After a send whose outcome is unknown, Salesforce may hold its values or the ones
        /// acknowledged before: neither is known any more, so those fields are sent again whatever
        /// a later profile wants (never skipped as "already held").
        mutating func forgetAcknowledgement(of entry: PendingRecord) {
            guard let inFlight = entry.inFlight else { return }
            for field in inFlight.keys {
                self.acknowledged[field] = nil
            }
        }

        var destinationId: String
        var recordId: String
        var acknowledged: [String: FieldValue] = [:]
        var acknowledgedAt: Date?
        var pending: PendingRecord?
        var dueAt: Date?
        var claimedUntil: Date?
        var queuedAt: Date?
        var attempts = 0
        var lastErrorCode: String?
        var lastErrorMessage: String?
        /// Entries in `record_history` for this record (pruned back to `historyPerRecord` in steps).
        var historyEntries = 0
        /// Whether the row was read from the table (false: a new one).
        var exists = false
        /// The backlog category the row had when it was read (nil: new or settled).
        var storedCategory: QueueCategory?

        enum QueueCategory: Equatable {
            case pending, inFlight, retrying
        }

        /// Where the row counts in the backlog: queued rows are in flight, retrying after a
        /// transient failure, or pending; settled rows count nowhere.
        var category: QueueCategory? {
            guard let pending = self.pending else { return nil }
            if pending.inFlight != nil { return .inFlight }
            return self.attempts > 0 ? .retrying : .pending
        }
    }

    /// The columns `recordRow(from:)` reads, in its order (read by index: GRDB's by-name lookup
    /// lowercases and searches on every access).
    static let recordColumns = """
        destination_id, record_id, acknowledged, acknowledged_at, pending, due_at, claimed_until, queued_at, attempts,
        last_error_code, last_error_message, history_entries
        """

    func loadRecord(_ destinationId: String, _ recordId: String) throws -> RecordRow {
        let load = try self.calls(.recordLoad)
        load.reset()
        defer { load.reset() }
        load.bind(1, destinationId)
        load.bind(2, recordId)
        guard try load.step() else { return RecordRow(destinationId: destinationId, recordId: recordId) }
        return Self.recordRow(from: load)
    }

    /// The current row of a statement that selected `recordColumns`.
    static func recordRow(from row: SQLiteCall) -> RecordRow {
        RecordRow(
            destinationId: row.text(0) ?? "",
            recordId: row.text(1) ?? "",
            acknowledged: row.withBytes(2, StoredBinary.decodeFields),
            acknowledgedAt: row.double(3).map(Date.init(timeIntervalSince1970:)),
            pending: row.withBytes(4, StoredBinary.decodePending),
            dueAt: row.double(5).map(Date.init(timeIntervalSince1970:)),
            claimedUntil: row.double(6).map(Date.init(timeIntervalSince1970:)),
            queuedAt: row.double(7).map(Date.init(timeIntervalSince1970:)),
            attempts: row.int(8) ?? 0,
            lastErrorCode: row.text(9),
            lastErrorMessage: row.text(10),
            historyEntries: row.int(11) ?? 0,
            exists: true
        ).withStoredCategory()
    }

    mutating func saveRecord(_ row: RecordRow) throws {
        let (before, after) = (row.storedCategory, row.category)
        if before != after {
            self.queueCounts[row.destinationId, default: QueueCountDelta()].add(before, -1)
            self.queueCounts[row.destinationId, default: QueueCountDelta()].add(after, 1)
        }
        let save = try self.calls(.recordSave)
        save.bind(1, row.destinationId)
        save.bind(2, row.recordId)
        save.bind(3, blob: row.acknowledged.isEmpty ? nil : StoredBinary.fields(row.acknowledged))
        save.bind(4, row.acknowledgedAt?.timeIntervalSince1970)
        save.bind(5, blob: row.pending.map(StoredBinary.pending))
        save.bind(6, Int64(row.pending?.inFlight == nil ? 0 : 1))
        save.bind(7, row.pending == nil ? nil : row.dueAt?.timeIntervalSince1970)
        save.bind(8, row.pending?.inFlight == nil ? nil : row.claimedUntil?.timeIntervalSince1970)
        save.bind(9, row.pending == nil ? nil : row.queuedAt?.timeIntervalSince1970)
        save.bind(10, row.attempts)
        save.bind(11, row.lastErrorCode)
        save.bind(12, row.lastErrorMessage)
        save.bind(13, row.historyEntries)
        try save.run()
    }
}

/// The statements a `QueueWriter` runs per record, each prepared once per transaction (looked up
/// by slot, not by hashing its SQL on every use).
final class QueueCalls {
    enum Slot: Int, CaseIterable {
        case identityLookup, profileLoad, profileUpdate, profileInsert, identityLink
        case recordLoad, recordSave, historyInsert, historyPrune, exclusionDelete, failureDelete

        var sql: String {
            switch self {
            case .identityLookup: return "SELECT profile_id FROM identities WHERE namespace = ? AND value = ?"
            case .profileLoad: return "SELECT body FROM profiles WHERE id = ?"
            case .profileUpdate: return "UPDATE profiles SET body = ?, updated_at = ? WHERE id = ?"
            case .profileInsert: return "INSERT INTO profiles (body, updated_at) VALUES (?, ?)"
            case .identityLink: return "INSERT OR IGNORE INTO identities (namespace, value, profile_id) VALUES (?, ?, ?)"
            case .recordLoad: return "SELECT \(QueueWriter.recordColumns) FROM records WHERE destination_id = ? AND record_id = ?"
            case .recordSave:
                return """
                    INSERT INTO records (destination_id, record_id, acknowledged, acknowledged_at, pending, in_flight, due_at,
                        claimed_until, queued_at, attempts, last_error_code, last_error_message, history_entries)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(destination_id, record_id) DO UPDATE SET acknowledged = excluded.acknowledged,
                        acknowledged_at = excluded.acknowledged_at, pending = excluded.pending, in_flight = excluded.in_flight,
                        due_at = excluded.due_at, claimed_until = excluded.claimed_until, queued_at = excluded.queued_at,
                        attempts = excluded.attempts, last_error_code = excluded.last_error_code,
                        last_error_message = excluded.last_error_message, history_entries = excluded.history_entries
                    """
            case .historyInsert:
                return """
                    INSERT INTO record_history (destination_id, record_id, at, event, attempt, code, message, fields, error_fields)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            case .historyPrune:
                return """
                    DELETE FROM record_history WHERE destination_id = ? AND record_id = ? AND id <= (
                        SELECT id FROM record_history WHERE destination_id = ? AND record_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)
                    """
            case .exclusionDelete: return "DELETE FROM failures WHERE destination_id = ? AND record_key = ? AND kind = 'excluded'"
            case .failureDelete: return "DELETE FROM failures WHERE destination_id = ? AND record_key = ?"
            }
        }
    }

    private let db: Database
    private var prepared: [SQLiteCall?] = Array(repeating: nil, count: Slot.allCases.count)

    init(db: Database) {
        self.db = db
    }

    func callAsFunction(_ slot: Slot) throws -> SQLiteCall {
        if let call = self.prepared[slot.rawValue] { return call }
        let call = try SQLiteCall(self.db, slot.sql)
        self.prepared[slot.rawValue] = call
        return call
    }
}
