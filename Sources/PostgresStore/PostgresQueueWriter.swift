import Activation
import Foundation
import Logging
import PostgresNIO
import Store

/// The writes of one PostgreSQL transaction that touches profiles and queues: the queue's rules
/// are `QueueLedger`'s (the same as SQLite's); this reads and locks the rows a step needs, saves
/// what it changed, and writes the counters at the end in a fixed order (so two transactions
/// never wait on each other's counter rows in a cycle).
struct PostgresQueueWriter {
    let connection: PostgresConnection
    let logger: Logger
    var ledger: QueueLedger

    init(connection: PostgresConnection, logger: Logger, now: Date) {
        self.connection = connection
        self.logger = logger
        self.ledger = QueueLedger(now: now)
    }

    static let recordColumns = """
        destination_id, record_id, acknowledged, acknowledged_at, pending, due_at, claimed_until, claim_token, queued_at, attempts,
        last_error_code, last_error_message, history_entries, retention_used, salesforce_id, target_object
        """

    func rows(_ query: PostgresQuery) async throws -> [PostgresRandomAccessRow] {
        var rows: [PostgresRandomAccessRow] = []
        for try await row in try await self.connection.query(query, logger: self.logger) { rows.append(row.makeRandomAccess()) }
        return rows
    }

    func execute(_ query: PostgresQuery) async throws {
        try await self.connection.query(query, logger: self.logger)
    }

    static func record(from row: PostgresRandomAccessRow) throws -> QueueRecord {
        var record = QueueRecord(destinationId: try row.value("destination_id"), recordId: try row.value("record_id"))
        record.acknowledged = try row.value("acknowledged", as: Data?.self).map { data in data.withUnsafeBytes { StoredBinary.decodeFields($0) } } ?? [:]
        record.acknowledgedAt = try row.optionalDate("acknowledged_at")
        record.pending = try row.value("pending", as: Data?.self).flatMap { data in data.withUnsafeBytes { StoredBinary.decodePending($0) } }
        record.dueAt = try row.optionalDate("due_at")
        record.claimedUntil = try row.optionalDate("claimed_until")
        record.claimToken = try row.value("claim_token", as: Int64?.self)
        record.queuedAt = try row.optionalDate("queued_at")
        record.attempts = try row.value("attempts", as: Int.self)
        record.lastErrorCode = try row.value("last_error_code", as: String?.self)
        record.lastErrorMessage = try row.value("last_error_message", as: String?.self)
        record.historyEntries = try row.value("history_entries", as: Int.self)
        record.retentionUsed = try row.value("retention_used", as: Double.self)
        record.salesforceId = try row.value("salesforce_id", as: String?.self)
        record.targetObject = try row.value("target_object", as: String?.self)
        record.exists = true
        return record.withStoredCategory()
    }

    /// A record row, locked for this transaction (a new one when there is none yet: its insert
    /// is checked in `storeRecord`).
    func lockRecord(_ destinationId: String, _ recordId: String) async throws -> QueueRecord {
        let found = try await self.rows(
            "SELECT \(unescaped: Self.recordColumns) FROM records WHERE destination_id = \(destinationId) AND record_id = \(recordId) FOR UPDATE"
        )
        guard let row = found.first else { return QueueRecord(destinationId: destinationId, recordId: recordId) }
        return try Self.record(from: row)
    }

    /// Writes a row whose counters the ledger already moved. A new row that another transaction
    /// created meanwhile is not overwritten: the transaction starts again and reads it
    /// (`PostgresStoreRetry`), so neither change is lost.
    func storeRecord(_ row: QueueRecord) async throws {
        let inFlight = row.pending?.inFlight != nil
        let acknowledged = row.acknowledged.isEmpty ? nil : Data(StoredBinary.fields(row.acknowledged))
        let pending = row.pending.map { Data(StoredBinary.pending($0)) }
        let flight: Int16 = inFlight ? 1 : 0
        let dueAt = row.pending == nil ? nil : row.dueAt?.timeIntervalSince1970
        let claimedUntil = inFlight ? row.claimedUntil?.timeIntervalSince1970 : nil
        let claimToken = inFlight ? row.claimToken : nil
        let queuedAt = row.pending == nil ? nil : row.queuedAt?.timeIntervalSince1970
        let retentionUsed = row.pending == nil ? 0 : row.retentionUsed
        if row.exists {
            try await self.execute("""
                UPDATE records SET acknowledged = \(acknowledged), acknowledged_at = \(row.acknowledgedAt?.timeIntervalSince1970),
                    pending = \(pending), in_flight = \(flight), due_at = \(dueAt), claimed_until = \(claimedUntil),
                    claim_token = \(claimToken), queued_at = \(queuedAt), attempts = \(row.attempts),
                    last_error_code = \(row.lastErrorCode), last_error_message = \(row.lastErrorMessage),
                    history_entries = \(row.historyEntries), retention_used = \(retentionUsed), salesforce_id = \(row.salesforceId),
                    target_object = \(row.targetObject)
                WHERE destination_id = \(row.destinationId) AND record_id = \(row.recordId)
                """)
            return
        }
        let inserted = try await self.rows("""
            INSERT INTO records (destination_id, record_id, acknowledged, acknowledged_at, pending, in_flight, due_at, claimed_until,
                claim_token, queued_at, attempts, last_error_code, last_error_message, history_entries, retention_used, salesforce_id,
                target_object)
            VALUES (\(row.destinationId), \(row.recordId), \(acknowledged), \(row.acknowledgedAt?.timeIntervalSince1970), \(pending),
                \(flight), \(dueAt), \(claimedUntil), \(claimToken), \(queuedAt), \(row.attempts), \(row.lastErrorCode),
                \(row.lastErrorMessage), \(row.historyEntries), \(retentionUsed), \(row.salesforceId), \(row.targetObject))
            ON CONFLICT (destination_id, record_id) DO NOTHING RETURNING 1 AS inserted
            """)
        if inserted.isEmpty { throw PostgresStoreRetry(reason: "record \(row.recordId) of \(row.destinationId) was created meanwhile") }
    }

    // MARK: profiles

    /// Finds the stored profile of any of the fragment's identities, merges, and saves. The
    /// caller holds the identities' advisory locks (`lockIdentities`).
    mutating func mergeProfile(_ fragment: Profile) async throws -> (Int64, Profile) {
        var profileId: Int64?
        var foundBy: (namespace: String, value: String)?
        search: for (namespace, ids) in fragment.identities.sorted(by: { $0.key < $1.key }) {
            for id in ids {
                let found = try await self.rows("SELECT profile_id FROM identities WHERE namespace = \(namespace) AND value = \(id)")
                if let row = found.first {
                    profileId = try row.value("profile_id", as: Int64.self)
                    foundBy = (namespace, id)
                    break search
                }
            }
        }
        var stored = Profile()
        if let profileId, let row = try await self.rows("SELECT body FROM profiles WHERE id = \(profileId) FOR UPDATE").first {
            stored = try row.value("body", as: Data.self).withUnsafeBytes { StoredBinary.decodeProfile($0) }
        }
        let merged = stored.merging(fragment)
        let now = self.ledger.now.timeIntervalSince1970
        let id: Int64
        if let profileId {
            // A resent profile that changes nothing is not written again.
            if merged != stored {
                try await self.execute("UPDATE profiles SET body = \(Data(StoredBinary.profile(merged))), updated_at = \(now) WHERE id = \(profileId)")
            }
            id = profileId
        } else {
            let row = try await self.rows("INSERT INTO profiles (body, updated_at) VALUES (\(Data(StoredBinary.profile(merged))), \(now)) RETURNING id")
            id = try row[0].value("id", as: Int64.self)
            self.ledger.newProfiles += 1
        }
        for (namespace, ids) in fragment.identities {
            for value in ids where !(foundBy?.namespace == namespace && foundBy?.value == value) {
                try await self.execute(
                    "INSERT INTO identities (namespace, value, profile_id) VALUES (\(namespace), \(value), \(id)) ON CONFLICT DO NOTHING"
                )
            }
        }
        self.ledger.countMemberships(before: stored, after: merged, changed: fragment.memberships.keys)
        return (id, merged)
    }

    /// Takes the transaction's advisory locks on every identity the fragments carry, in one
    /// sorted order: two processes ingesting fragments of one person merge them one after the
    /// other, into one profile.
    func lockIdentities(of fragments: [Profile]) async throws {
        var keys: Set<String> = []
        for fragment in fragments {
            for (namespace, ids) in fragment.identities {
                for id in ids { keys.insert(namespace + "\u{1F}" + id) }
            }
        }
        guard !keys.isEmpty else { return }
        let sorted = keys.sorted()
        try await self.execute("""
            SELECT pg_advisory_xact_lock(k) FROM (
                SELECT DISTINCT hashtextextended(x, \(PostgresStore.identityLockSeed)) AS k FROM unnest(\(sorted)::text[]) AS x ORDER BY k) AS keys
            """)
    }

    // MARK: queues

    /// Evaluates a profile for one destination and queues what changed.
    mutating func fanOut(_ profile: Profile, profileId: Int64, to destination: ActiveDestination) async throws -> OutcomeCounts {
        switch destination.plan.evaluate(profile) {
        case .notReceived:
            return OutcomeCounts()
        case .excluded(let exclusion):
            let counts = self.ledger.exclude(exclusion, profileId: profileId, destinationId: destination.id)
            try await self.applyEffects()
            return counts
        case .record(let desired):
            var row = try await self.lockRecord(destination.id, desired.key)
            if self.ledger.needsExclusionCheck(destination.id) {
                let any = try await self.rows(
                    "SELECT EXISTS (SELECT 1 FROM failures WHERE destination_id = \(destination.id) AND kind = 'excluded') AS found"
                )
                self.ledger.exclusionsListed[destination.id] = try any.first?.value("found", as: Bool.self) ?? true
            }
            let (counts, write) = self.ledger.receive(desired, destinationId: destination.id, row: &row)
            if write { try await self.storeRecord(row) }
            try await self.applyEffects()
            return counts
        }
    }

    /// Writes the side rows the ledger's steps asked for, in order.
    mutating func applyEffects() async throws {
        for effect in self.ledger.takeEffects() {
            switch effect {
            case .history(let destinationId, let recordId, let entry):
                let fields = entry.fields.isEmpty ? nil : StoredJSON.encodeFields(entry.fields)
                let errorFields = entry.errorFields.isEmpty ? nil : StoredJSON.encode(entry.errorFields)
                try await self.execute("""
                    INSERT INTO record_history (destination_id, record_id, at, event, attempt, code, message, fields, error_fields)
                    VALUES (\(destinationId), \(recordId), \(entry.at.timeIntervalSince1970), \(entry.event.rawValue), \(entry.attempt),
                        \(entry.code), \(entry.message), \(fields), \(errorFields))
                    """)
            case .pruneHistory(let destinationId, let recordId, let keep):
                try await self.execute("""
                    DELETE FROM record_history WHERE destination_id = \(destinationId) AND record_id = \(recordId) AND id <= (
                        SELECT id FROM record_history WHERE destination_id = \(destinationId) AND record_id = \(recordId)
                        ORDER BY id DESC LIMIT 1 OFFSET \(keep))
                    """)
            case .failure(let failure):
                try await self.execute("""
                    INSERT INTO failures (destination_id, record_key, kind, code, message, fields, sent, at)
                    VALUES (\(failure.destinationId), \(failure.recordKey), \(failure.kind), \(failure.code), \(failure.message),
                        \(StoredJSON.encode(failure.fields)), \(failure.sent.map(StoredJSON.encodeFields)), \(failure.at.timeIntervalSince1970))
                    ON CONFLICT (destination_id, record_key) DO UPDATE SET kind = EXCLUDED.kind, code = EXCLUDED.code,
                        message = EXCLUDED.message, fields = EXCLUDED.fields, sent = EXCLUDED.sent, at = EXCLUDED.at
                    """)
            case .clearFailure(let destinationId, let recordKey, let onlyExclusion):
                if onlyExclusion {
                    try await self.execute(
                        "DELETE FROM failures WHERE destination_id = \(destinationId) AND record_key = \(recordKey) AND kind = 'excluded'"
                    )
                } else {
                    try await self.execute("DELETE FROM failures WHERE destination_id = \(destinationId) AND record_key = \(recordKey)")
                }
            }
        }
    }

    /// Writes what this transaction added up in memory: audience, backlog, profile and run
    /// counts, each table in key order.
    mutating func flush() async throws {
        try await self.applyEffects()
        for (key, change) in self.ledger.audienceCounts.sorted(by: { ($0.key.segmentId, $0.key.status.rawValue) < ($1.key.segmentId, $1.key.status.rawValue) })
        where change != 0 {
            try await self.execute("""
                INSERT INTO audience_counts (segment_id, status, count) VALUES (\(key.segmentId), \(key.status.rawValue), \(change))
                ON CONFLICT (segment_id, status) DO UPDATE SET count = audience_counts.count + EXCLUDED.count
                """)
        }
        self.ledger.audienceCounts = [:]
        for (destinationId, delta) in self.ledger.queueCounts.sorted(by: { $0.key < $1.key }) where !delta.isZero {
            try await self.execute("""
                INSERT INTO queue_counts (destination_id, pending, in_flight, retrying)
                VALUES (\(destinationId), \(delta.pending), \(delta.inFlight), \(delta.retrying))
                ON CONFLICT (destination_id) DO UPDATE SET pending = queue_counts.pending + EXCLUDED.pending,
                    in_flight = queue_counts.in_flight + EXCLUDED.in_flight, retrying = queue_counts.retrying + EXCLUDED.retrying
                """)
        }
        self.ledger.queueCounts = [:]
        if self.ledger.newProfiles > 0 {
            try await self.execute("UPDATE store_counts SET value = value + \(self.ledger.newProfiles) WHERE name = 'profiles'")
            self.ledger.newProfiles = 0
        }
        // A window's processing time runs from its first received profile to its last resolution.
        let now = self.ledger.now.timeIntervalSince1970
        for (key, delta) in self.ledger.runs.sorted(by: { ($0.key.destinationId, $0.key.hour) < ($1.key.destinationId, $1.key.hour) }) {
            let firstReceived: Double? = delta.received > 0 ? now : nil
            let lastResolved: Double? = delta.resolved > 0 ? now : nil
            try await self.execute("""
                INSERT INTO runs (destination_id, hour_start, received, activated, unchanged, excluded, failed, first_received_at, last_resolved_at)
                VALUES (\(key.destinationId), \(key.hour), \(delta.received), \(delta.activated), \(delta.unchanged), \(delta.excluded),
                    \(delta.failed), \(firstReceived), \(lastResolved))
                ON CONFLICT (destination_id, hour_start) DO UPDATE SET received = runs.received + EXCLUDED.received,
                    activated = runs.activated + EXCLUDED.activated, unchanged = runs.unchanged + EXCLUDED.unchanged,
                    excluded = runs.excluded + EXCLUDED.excluded, failed = runs.failed + EXCLUDED.failed,
                    first_received_at = COALESCE(runs.first_received_at, EXCLUDED.first_received_at),
                    last_resolved_at = GREATEST(runs.last_resolved_at, EXCLUDED.last_resolved_at)
                """)
        }
        self.ledger.runs = [:]
    }
}

/// A transaction that must start again: it lost a race another transaction won (a row created
/// meanwhile, a deadlock PostgreSQL broke, a serialization failure).
struct PostgresStoreRetry: Error, CustomStringConvertible {
    let reason: String
    var description: String { "the transaction must start again: \(self.reason)" }
}
