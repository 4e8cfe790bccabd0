import Activation
import Foundation
import GRDB

/// The writes of one SQLite transaction that touches profiles and queues: the queue's rules are
/// `QueueLedger`'s; this applies what they change with prepared statements, row by row as each
/// step runs, and writes the counters the ledger added up in memory at the end.
struct QueueWriter {
    let db: Database
    /// This transaction's hot statements, prepared once.
    let calls: QueueCalls
    var ledger: QueueLedger
    var now: Date { self.ledger.now }
    var hour: Int64 { self.ledger.hour }
    /// When set (a backfill of a destination with a bulk threshold), the records `fanOut` queued.
    var queuedRecordIds: [String]? {
        get { self.ledger.queuedRecordIds }
        set { self.ledger.queuedRecordIds = newValue }
    }

    init(db: Database, now: Date) {
        self.db = db
        self.ledger = QueueLedger(now: now)
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
            self.ledger.newProfiles += 1
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
        self.ledger.countMemberships(before: stored, after: merged, changed: fragment.memberships.keys)
        return (id, merged)
    }

    private mutating func flushQueueCounts() throws {
        let add = try self.db.cachedStatement(sql: """
            INSERT INTO queue_counts (destination_id, pending, in_flight, retrying) VALUES (?, ?, ?, ?)
            ON CONFLICT(destination_id) DO UPDATE SET pending = pending + excluded.pending,
                in_flight = in_flight + excluded.in_flight, retrying = retrying + excluded.retrying
            """)
        for (destinationId, delta) in self.ledger.queueCounts where !delta.isZero {
            try add.execute(arguments: [destinationId, delta.pending, delta.inFlight, delta.retrying])
        }
        self.ledger.queueCounts = [:]
    }

    private mutating func flushAudienceCounts() throws {
        let add = try self.db.cachedStatement(sql: """
            INSERT INTO audience_counts (segment_id, status, count) VALUES (?, ?, ?)
            ON CONFLICT(segment_id, status) DO UPDATE SET count = count + excluded.count
            """)
        for (key, change) in self.ledger.audienceCounts where change != 0 {
            try add.execute(arguments: [key.segmentId, key.status.rawValue, change])
        }
        self.ledger.audienceCounts = [:]
    }

    // MARK: queues

    /// Evaluates a profile for one destination and queues what changed.
    mutating func fanOut(_ profile: Profile, profileId: Int64, to destination: ActiveDestination) throws -> OutcomeCounts {
        switch destination.plan.evaluate(profile) {
        case .notReceived:
            return OutcomeCounts()
        case .excluded(let exclusion):
            let counts = self.ledger.exclude(exclusion, profileId: profileId, destinationId: destination.id)
            if exclusion.code == .consentRefused, let key = exclusion.recordId {
                // Refused consent: what is queued for the record is not sent.
                var row = try self.loadRecord(destination.id, key)
                if self.ledger.withdraw(destinationId: destination.id, row: &row) { try self.storeRecord(row) }
            }
            try self.applyEffects()
            return counts
        case .record(let desired):
            var row = try self.loadRecord(destination.id, desired.key)
            if self.ledger.needsExclusionCheck(destination.id) {
                self.ledger.exclusionsListed[destination.id] = try Bool.fetchOne(
                    self.db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM failures WHERE destination_id = ? AND kind = 'excluded')"),
                    arguments: [destination.id]
                ) ?? true
            }
            let (counts, write) = self.ledger.receive(desired, destinationId: destination.id, row: &row)
            if write { try self.storeRecord(row) }
            try self.applyEffects()
            return counts
        }
    }

    mutating func count(_ destinationId: String, hour: Int64, _ change: (inout QueueLedger.RunDelta) -> Void) {
        self.ledger.count(destinationId, hour: hour, change)
    }

    /// Writes what this transaction added up in memory: run, audience and backlog counts.
    mutating func flush() throws {
        try self.applyEffects()
        try self.flushAudienceCounts()
        try self.flushQueueCounts()
        if self.ledger.newProfiles > 0 {
            try self.db.cachedStatement(sql: "UPDATE store_counts SET value = value + ? WHERE name = 'profiles'")
                .execute(arguments: [self.ledger.newProfiles])
            self.ledger.newProfiles = 0
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
        for (key, delta) in self.ledger.runs {
            try upsert.execute(arguments: [
                key.destinationId, key.hour, delta.received, delta.activated, delta.unchanged, delta.excluded, delta.failed,
                delta.received > 0 ? now : nil, delta.resolved > 0 ? now : nil,
            ])
        }
        self.ledger.runs = [:]
    }

    // MARK: side rows

    /// Removes a record's listed failure (or only its exclusion).
    mutating func clearFailure(_ destinationId: String, _ recordKey: String, onlyExclusion: Bool) throws {
        self.ledger.clearFailure(destinationId, recordKey, onlyExclusion: onlyExclusion)
        try self.applyEffects()
    }

    /// Appends one entry to a record's history (`QueueLedger.history`).
    mutating func writeHistory(_ entry: RecordHistoryEntry, for record: inout RecordRow) throws {
        self.ledger.history(entry, for: &record)
        try self.applyEffects()
    }

    /// Writes the side rows the ledger's steps asked for, in order.
    mutating func applyEffects() throws {
        for effect in self.ledger.takeEffects() {
            switch effect {
            case .history(let destinationId, let recordId, let entry):
                let insert = try self.calls(.historyInsert)
                insert.bind(1, destinationId)
                insert.bind(2, recordId)
                insert.bind(3, entry.at.timeIntervalSince1970)
                insert.bind(4, entry.event.rawValue)
                insert.bind(5, entry.attempt)
                insert.bind(6, entry.code)
                insert.bind(7, entry.message)
                insert.bind(8, text: entry.fields.isEmpty ? nil : StoredJSON.fieldsBytes(entry.fields))
                insert.bind(9, entry.errorFields.isEmpty ? nil : StoredJSON.encode(entry.errorFields))
                try insert.run()
            case .pruneHistory(let destinationId, let recordId, let keep):
                let prune = try self.calls(.historyPrune)
                prune.bind(1, destinationId)
                prune.bind(2, recordId)
                prune.bind(3, destinationId)
                prune.bind(4, recordId)
                prune.bind(5, keep)
                try prune.run()
            case .failure(let failure):
                try self.db.cachedStatement(sql: """
                    INSERT INTO failures (destination_id, record_key, kind, code, message, fields, sent, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(destination_id, record_key) DO UPDATE SET kind = excluded.kind, code = excluded.code,
                        message = excluded.message, fields = excluded.fields, sent = excluded.sent, at = excluded.at
                    """).execute(arguments: [
                        failure.destinationId, failure.recordKey, failure.kind, failure.code, failure.message, StoredJSON.encode(failure.fields),
                        failure.sent.map(StoredJSON.encodeFields), failure.at.timeIntervalSince1970,
                    ])
            case .clearFailure(let destinationId, let recordKey, let onlyExclusion):
                let clear = try self.calls(onlyExclusion ? .exclusionDelete : .failureDelete)
                clear.bind(1, destinationId)
                clear.bind(2, recordKey)
                try clear.run()
            }
        }
    }
}
