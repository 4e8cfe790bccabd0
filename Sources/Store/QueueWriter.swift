import Activation
import Foundation
import GRDB

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
    var queueCounts: [String: QueueCountDelta] = [:]
    /// Profiles this transaction created, added to the stored count once at the end.
    private var newProfiles = 0
    /// When set (a backfill of a destination with a bulk threshold), the records `fanOut` queued.
    var queuedRecordIds: [String]?

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
            var row = try self.loadRecord(destination.id, desired.key)
            var entry = row.pending ?? PendingRecord()
            let outcome = entry.receive(desired, acknowledged: row.acknowledged, hour: self.hour)
            if outcome.changed {
                counts.queued = 1
                self.queuedRecordIds?.append(desired.key)
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
                try self.clearFailure(destination.id, desired.key, onlyExclusion: true)
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
}
