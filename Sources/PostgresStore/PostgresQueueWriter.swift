import Activation
import Foundation
import Logging
import PostgresNIO
import SfdestJSON
import Store

/// The writes of one PostgreSQL transaction that touches profiles and queues: the queue's rules
/// are `QueueLedger`'s (the same as SQLite's); this reads and locks the rows a step needs, saves
/// what it changed, and writes the counters at the end in a fixed order (so two transactions
/// never wait on each other's counter rows in a cycle).
struct PostgresQueueWriter {
    let connection: PostgresConnection
    let logger: Logger
    var ledger: QueueLedger
    /// The rows of a batch read ahead in a few statements, kept current as the transaction
    /// changes them, and the profile and history rows it writes at the end (`PostgresReadAhead`).
    var ahead = PostgresReadAhead()

    init(connection: PostgresConnection, logger: Logger, now: Date) {
        self.connection = connection
        self.logger = logger
        self.ledger = QueueLedger(now: now)
    }

    static let recordColumns = """
        destination_id, record_id, acknowledged, acknowledged_at, pending, due_at, claimed_until, claim_token, queued_at, attempts,
        last_error_code, last_error_message, history_entries, retention_used, salesforce_id, target_object, changed_at
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
        record.changedAt = try row.optionalDate("changed_at")
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
        let changedAt = row.pending == nil ? nil : row.changedAt?.timeIntervalSince1970
        if row.exists {
            try await self.execute("""
                UPDATE records SET acknowledged = \(acknowledged), acknowledged_at = \(row.acknowledgedAt?.timeIntervalSince1970),
                    pending = \(pending), in_flight = \(flight), due_at = \(dueAt), claimed_until = \(claimedUntil),
                    claim_token = \(claimToken), queued_at = \(queuedAt), attempts = \(row.attempts),
                    last_error_code = \(row.lastErrorCode), last_error_message = \(row.lastErrorMessage),
                    history_entries = \(row.historyEntries), retention_used = \(retentionUsed), salesforce_id = \(row.salesforceId),
                    target_object = \(row.targetObject), changed_at = \(changedAt)
                WHERE destination_id = \(row.destinationId) AND record_id = \(row.recordId)
                """)
            return
        }
        let inserted = try await self.rows("""
            INSERT INTO records (destination_id, record_id, acknowledged, acknowledged_at, pending, in_flight, due_at, claimed_until,
                claim_token, queued_at, attempts, last_error_code, last_error_message, history_entries, retention_used, salesforce_id,
                target_object, changed_at)
            VALUES (\(row.destinationId), \(row.recordId), \(acknowledged), \(row.acknowledgedAt?.timeIntervalSince1970), \(pending),
                \(flight), \(dueAt), \(claimedUntil), \(claimToken), \(queuedAt), \(row.attempts), \(row.lastErrorCode),
                \(row.lastErrorMessage), \(row.historyEntries), \(retentionUsed), \(row.salesforceId), \(row.targetObject), \(changedAt))
            ON CONFLICT (destination_id, record_id) DO NOTHING RETURNING 1 AS inserted
            """)
        if inserted.isEmpty { throw PostgresStoreRetry(reason: "record \(row.recordId) of \(row.destinationId) was created meanwhile") }
    }

    // MARK: profiles

    /// Finds the stored profile of any of the fragment's identities, merges, and keeps it to be
    /// written at the end (`writeAhead`). The caller holds the identities' advisory locks
    /// (`lockIdentities`) and read them ahead (`readAhead(profilesOf:)`).
    mutating func mergeProfile(_ fragment: Profile) async throws -> (Int64, Profile) {
        var profileId: Int64?
        search: for (namespace, ids) in fragment.identities.sorted(by: { $0.key < $1.key }) {
            for id in ids {
                if let found = self.ahead.identities[PostgresReadAhead.identityKey(namespace, id)] {
                    profileId = found
                    break search
                }
            }
        }
        let stored = try await profileId.asyncMap { try await self.profile($0) } ?? Profile()
        let merged = stored.merging(fragment)
        let id: Int64
        if let profileId {
            id = profileId
            // A resent profile that changes nothing is not written again.
            if merged != stored {
                if self.ahead.newProfiles[id] != nil { self.ahead.newProfiles[id] = merged } else { self.ahead.changedProfiles[id] = merged }
            }
        } else {
            id = try await self.reserveProfileId()
            self.ahead.newProfiles[id] = merged
            self.ledger.newProfiles += 1
        }
        self.ahead.profiles[id] = merged
        // An identity already linked (to this profile or, first come, to another) keeps its link.
        for (namespace, ids) in fragment.identities {
            for value in ids {
                let key = PostgresReadAhead.identityKey(namespace, value)
                guard self.ahead.identities[key] == nil else { continue }
                self.ahead.identities[key] = id
                self.ahead.newIdentities.append((namespace, value, id))
            }
        }
        self.ledger.countMemberships(before: stored, after: merged, changed: fragment.memberships.keys)
        return (id, merged)
    }

    /// A stored profile: read ahead, or read and locked now.
    mutating func profile(_ id: Int64) async throws -> Profile {
        if let known = self.ahead.profiles[id] { return known }
        let row = try await self.rows("SELECT body FROM profiles WHERE id = \(id) FOR UPDATE").first
        let profile = try row.map { try $0.value("body", as: Data.self).withUnsafeBytes { StoredBinary.decodeProfile($0) } } ?? Profile()
        self.ahead.profiles[id] = profile
        return profile
    }

    /// The id of a new profile, from those reserved ahead.
    mutating func reserveProfileId() async throws -> Int64 {
        if self.ahead.reservedIds.isEmpty {
            self.ahead.reservedIds = try await self.reserveProfileIds(1)
        }
        return self.ahead.reservedIds.removeFirst()
    }

    func reserveProfileIds(_ count: Int) async throws -> [Int64] {
        try await self.rows("SELECT nextval('profiles_id_seq') AS id FROM generate_series(1, \(count))").map { try $0.value("id", as: Int64.self) }
    }

    /// Reads ahead, in two statements, the identities the fragments carry and the profiles they
    /// link to (locked), and reserves an id for each fragment none of whose identities is known.
    mutating func readAhead(profilesOf fragments: [Profile]) async throws {
        var namespaces: [String] = []
        var values: [String] = []
        for fragment in fragments {
            for (namespace, ids) in fragment.identities {
                for id in ids {
                    namespaces.append(namespace)
                    values.append(id)
                }
            }
        }
        if !namespaces.isEmpty {
            for row in try await self.rows("""
                SELECT i.namespace, i.value, i.profile_id FROM identities i
                JOIN unnest(\(namespaces)::text[], \(values)::text[]) AS k(namespace, value) ON i.namespace = k.namespace AND i.value = k.value
                """) {
                let key = PostgresReadAhead.identityKey(try row.value("namespace", as: String.self), try row.value("value", as: String.self))
                self.ahead.identities[key] = try row.value("profile_id", as: Int64.self)
            }
        }
        let linked = Set(self.ahead.identities.values).subtracting(self.ahead.profiles.keys).sorted()
        if !linked.isEmpty {
            for row in try await self.rows("SELECT id, body FROM profiles WHERE id = ANY(\(linked)::bigint[]) ORDER BY id FOR UPDATE") {
                self.ahead.profiles[try row.value("id", as: Int64.self)] = try row.value("body", as: Data.self).withUnsafeBytes { StoredBinary.decodeProfile($0) }
            }
        }
        let unknown = fragments.filter { fragment in
            !fragment.identities.contains { namespace, ids in ids.contains { self.ahead.identities[PostgresReadAhead.identityKey(namespace, $0)] != nil } }
        }.count
        if unknown > 0 { self.ahead.reservedIds += try await self.reserveProfileIds(unknown) }
    }

    /// Reads ahead, one statement per destination, the record rows these keys name (locked, in key
    /// order); a key with no row gets a new one.
    mutating func readAhead(records keys: [String: Set<String>]) async throws {
        for (destinationId, ids) in keys.sorted(by: { $0.key < $1.key }) {
            let wanted = ids.filter { self.ahead.records[destinationId]?[$0] == nil }.sorted()
            guard !wanted.isEmpty else { continue }
            var rows: [String: QueueRecord] = [:]
            for row in try await self.rows("""
                SELECT \(unescaped: Self.recordColumns) FROM records WHERE destination_id = \(destinationId) AND record_id = ANY(\(wanted)::text[])
                ORDER BY record_id FOR UPDATE
                """) {
                let record = try Self.record(from: row)
                rows[record.recordId] = record
            }
            for id in wanted {
                self.ahead.records[destinationId, default: [:]][id] = rows[id] ?? QueueRecord(destinationId: destinationId, recordId: id)
            }
        }
    }

    /// Writes the profiles and identity links this transaction made or changed, one statement each.
    mutating func writeAhead() async throws {
        let now = self.ledger.now.timeIntervalSince1970
        if !self.ahead.newProfiles.isEmpty {
            let rows = self.ahead.newProfiles.sorted { $0.key < $1.key }
            let bodies = rows.map { ByteBuffer(bytes: StoredBinary.profile($0.value)) }
            try await self.execute("""
                INSERT INTO profiles (id, body, updated_at) SELECT id, body, \(now) FROM unnest(\(rows.map(\.key))::bigint[], \(bodies)::bytea[]) AS v(id, body)
                """)
            self.ahead.newProfiles = [:]
        }
        if !self.ahead.changedProfiles.isEmpty {
            let rows = self.ahead.changedProfiles.sorted { $0.key < $1.key }
            let bodies = rows.map { ByteBuffer(bytes: StoredBinary.profile($0.value)) }
            try await self.execute("""
                UPDATE profiles SET body = v.body, updated_at = \(now) FROM unnest(\(rows.map(\.key))::bigint[], \(bodies)::bytea[]) AS v(id, body)
                WHERE profiles.id = v.id
                """)
            self.ahead.changedProfiles = [:]
        }
        if !self.ahead.newIdentities.isEmpty {
            let links = self.ahead.newIdentities
            try await self.execute("""
                INSERT INTO identities (namespace, value, profile_id)
                SELECT * FROM unnest(\(links.map(\.namespace))::text[], \(links.map(\.value))::text[], \(links.map(\.profileId))::bigint[])
                ON CONFLICT DO NOTHING
                """)
            self.ahead.newIdentities = []
        }
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
            if exclusion.code == .consentRefused, let key = exclusion.recordId {
                // Refused consent: what is queued for the record is not sent.
                var row: QueueRecord
                if let known = self.ahead.records[destination.id]?[key] { row = known } else { row = try await self.lockRecord(destination.id, key) }
                if self.ledger.withdraw(destinationId: destination.id, row: &row) {
                    self.ahead.recordWrites[destination.id, default: [:]][key] = row
                    self.ahead.records[destination.id, default: [:]][key] = row.withStoredCategory()
                }
            }
            try await self.applyEffects()
            return counts
        case .record(let desired):
            var row: QueueRecord
            if let known = self.ahead.records[destination.id]?[desired.key] { row = known } else { row = try await self.lockRecord(destination.id, desired.key) }
            if self.ledger.needsExclusionCheck(destination.id) {
                let any = try await self.rows(
                    "SELECT EXISTS (SELECT 1 FROM failures WHERE destination_id = \(destination.id) AND kind = 'excluded') AS found"
                )
                self.ledger.exclusionsListed[destination.id] = try any.first?.value("found", as: Bool.self) ?? true
            }
            let (counts, write) = self.ledger.receive(desired, destinationId: destination.id, row: &row)
            if write {
                // Written at the end with the batch's other rows (`writeRecords`); a later fragment
                // of this batch for the same record starts from it as it is now.
                self.ahead.recordWrites[destination.id, default: [:]][desired.key] = row
                self.ahead.records[destination.id, default: [:]][desired.key] = row.withStoredCategory()
            }
            try await self.applyEffects()
            return counts
        }
    }

    /// Writes the side rows the ledger's steps asked for, in order.
    mutating func applyEffects() async throws {
        for effect in self.ledger.takeEffects() {
            switch effect {
            case .history(let destinationId, let recordId, let entry):
                self.ahead.history.append((destinationId, recordId, entry))
                continue
            case .pruneHistory, .failure, .clearFailure:
                // In order: the history entries before it are written first.
                try await self.writeHistory()
            }
            switch effect {
            case .history: break
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

    /// Writes the record rows the batch changed: one statement for those that existed, one for
    /// new ones. A new row another transaction created meanwhile is not overwritten: the
    /// transaction starts again (`PostgresStoreRetry`), as `storeRecord` does.
    mutating func writeRecords() async throws {
        guard !self.ahead.recordWrites.isEmpty else { return }
        var updates: [JSON] = []
        var inserts: [JSON] = []
        for (_, rows) in self.ahead.recordWrites.sorted(by: { $0.key < $1.key }) {
            for (_, row) in rows.sorted(by: { $0.key < $1.key }) {
                if row.exists { updates.append(Self.recordJSON(row)) } else { inserts.append(Self.recordJSON(row)) }
            }
        }
        self.ahead.recordWrites = [:]
        let recordset = """
            destination_id text, record_id text, acknowledged text, acknowledged_at double precision, pending text, in_flight smallint,
            due_at double precision, claimed_until double precision, claim_token bigint, queued_at double precision, attempts integer,
            last_error_code text, last_error_message text, history_entries integer, retention_used double precision, salesforce_id text,
            target_object text, changed_at double precision
            """
        if !updates.isEmpty {
            try await self.execute("""
                UPDATE records SET acknowledged = decode(v.acknowledged, 'base64'), acknowledged_at = v.acknowledged_at,
                    pending = decode(v.pending, 'base64'), in_flight = v.in_flight, due_at = v.due_at, claimed_until = v.claimed_until,
                    claim_token = v.claim_token, queued_at = v.queued_at, attempts = v.attempts, last_error_code = v.last_error_code,
                    last_error_message = v.last_error_message, history_entries = v.history_entries, retention_used = v.retention_used,
                    salesforce_id = v.salesforce_id, target_object = v.target_object, changed_at = v.changed_at
                FROM jsonb_to_recordset(\(JSONWriter.text(.array(updates)))::jsonb) AS v(\(unescaped: recordset))
                WHERE records.destination_id = v.destination_id AND records.record_id = v.record_id
                """)
        }
        if !inserts.isEmpty {
            let inserted = try await self.rows("""
                INSERT INTO records (destination_id, record_id, acknowledged, acknowledged_at, pending, in_flight, due_at, claimed_until,
                    claim_token, queued_at, attempts, last_error_code, last_error_message, history_entries, retention_used, salesforce_id,
                    target_object, changed_at)
                SELECT v.destination_id, v.record_id, decode(v.acknowledged, 'base64'), v.acknowledged_at, decode(v.pending, 'base64'),
                    v.in_flight, v.due_at, v.claimed_until, v.claim_token, v.queued_at, v.attempts, v.last_error_code, v.last_error_message,
                    v.history_entries, v.retention_used, v.salesforce_id, v.target_object, v.changed_at
                FROM jsonb_to_recordset(\(JSONWriter.text(.array(inserts)))::jsonb) AS v(\(unescaped: recordset))
                ON CONFLICT (destination_id, record_id) DO NOTHING RETURNING 1 AS inserted
                """)
            if inserted.count < inserts.count {
                throw PostgresStoreRetry(reason: "\(inserts.count - inserted.count) record(s) were created meanwhile")
            }
        }
    }

    /// A record row's columns as `writeRecords` reads them (binary columns in base64).
    static func recordJSON(_ row: QueueRecord) -> JSON {
        let inFlight = row.pending?.inFlight != nil
        let optionalDouble: (Double?) -> JSON = { $0.map(JSON.double) ?? .null }
        return .object([
            ("destination_id", .string(row.destinationId)), ("record_id", .string(row.recordId)),
            ("acknowledged", .string(row.acknowledged.isEmpty ? nil : Data(StoredBinary.fields(row.acknowledged)).base64EncodedString())),
            ("acknowledged_at", optionalDouble(row.acknowledgedAt?.timeIntervalSince1970)),
            ("pending", .string(row.pending.map { Data(StoredBinary.pending($0)).base64EncodedString() })),
            ("in_flight", .int(inFlight ? 1 : 0)),
            ("due_at", optionalDouble(row.pending == nil ? nil : row.dueAt?.timeIntervalSince1970)),
            ("claimed_until", optionalDouble(inFlight ? row.claimedUntil?.timeIntervalSince1970 : nil)),
            ("claim_token", (inFlight ? row.claimToken : nil).map { JSON.int(Int($0)) } ?? .null),
            ("queued_at", optionalDouble(row.pending == nil ? nil : row.queuedAt?.timeIntervalSince1970)),
            ("attempts", .int(row.attempts)), ("last_error_code", .string(row.lastErrorCode)),
            ("last_error_message", .string(row.lastErrorMessage)), ("history_entries", .int(row.historyEntries)),
            ("retention_used", .double(row.pending == nil ? 0 : row.retentionUsed)), ("salesforce_id", .string(row.salesforceId)),
            ("target_object", .string(row.targetObject)),
            ("changed_at", optionalDouble(row.pending == nil ? nil : row.changedAt?.timeIntervalSince1970)),
        ])
    }

    /// Writes the history entries kept so far, in their order, in one statement.
    mutating func writeHistory() async throws {
        guard !self.ahead.history.isEmpty else { return }
        let rows: [JSON] = self.ahead.history.map { destinationId, recordId, entry in
            .object([
                ("d", .string(destinationId)), ("r", .string(recordId)), ("at", .double(entry.at.timeIntervalSince1970)),
                ("e", .string(entry.event.rawValue)), ("n", .int(entry.attempt)), ("c", .string(entry.code)), ("m", .string(entry.message)),
                ("f", .string(entry.fields.isEmpty ? nil : StoredJSON.encodeFields(entry.fields))),
                ("x", .string(entry.errorFields.isEmpty ? nil : StoredJSON.encode(entry.errorFields))),
            ])
        }
        self.ahead.history = []
        try await self.execute("""
            INSERT INTO record_history (destination_id, record_id, at, event, attempt, code, message, fields, error_fields)
            SELECT d, r, at, e, n, c, m, f, x FROM ROWS FROM (jsonb_to_recordset(\(JSONWriter.text(.array(rows)))::jsonb)
                AS (d text, r text, at double precision, e text, n integer, c text, m text, f text, x text)) WITH ORDINALITY AS h(d, r, at, e, n, c, m, f, x, o)
            ORDER BY o
            """)
    }

    /// Writes what this transaction added up in memory: profiles and identity links, history
    /// entries, then audience, backlog, profile and run counts, each table in key order.
    mutating func flush() async throws {
        try await self.writeAhead()
        try await self.writeRecords()
        try await self.applyEffects()
        try await self.writeHistory()
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
        for destinationId in self.ahead.delivered.sorted() {
            try await self.execute("UPDATE destinations SET last_delivery_at = \(now) WHERE id = \(destinationId)")
        }
        self.ahead.delivered = []
    }
}

/// A transaction that must start again: it lost a race another transaction won (a row created
/// meanwhile, a deadlock PostgreSQL broke, a serialization failure).
struct PostgresStoreRetry: Error, CustomStringConvertible {
    let reason: String
    var description: String { "the transaction must start again: \(self.reason)" }
}

/// What a queue transaction read ahead and what it writes at its end.
struct PostgresReadAhead {
    /// Profile ids by identity (`identityKey`).
    var identities: [String: Int64] = [:]
    /// Stored profiles by id, as this transaction has them now.
    var profiles: [Int64: Profile] = [:]
    /// Ids taken from the profiles' sequence for new profiles, not used yet.
    var reservedIds: [Int64] = []
    /// Profiles to insert and to update at the end.
    var newProfiles: [Int64: Profile] = [:]
    var changedProfiles: [Int64: Profile] = [:]
    /// Identity links to insert at the end.
    var newIdentities: [(namespace: String, value: String, profileId: Int64)] = []
    /// Record rows by destination and record id, as this transaction has them now (locked).
    var records: [String: [String: QueueRecord]] = [:]
    /// Record rows changed, to write at the end (`exists`: the row was stored before).
    var recordWrites: [String: [String: QueueRecord]] = [:]
    /// Destinations that had records delivered (their `last_delivery_at` is set last).
    var delivered: Set<String> = []
    /// History entries to insert, in order, before the next effect that depends on them.
    var history: [(destinationId: String, recordId: String, entry: RecordHistoryEntry)] = []

    static func identityKey(_ namespace: String, _ value: String) -> String {
        namespace + "\u{1F}" + value
    }
}

extension Optional {
    /// `map` with an async transform.
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
