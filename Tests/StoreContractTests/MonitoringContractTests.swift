import Activation
import Foundation
import PostgresNIO
import PostgresStore
import SfdestTestSupport
import Store
import Testing

/// What a person reads about a destination, the same on every backend: backlog, runs, failures
/// and their replay, one record's state and history, audiences, profiles.
@Suite("Store contract: monitoring and history")
struct MonitoringContractTests {
    typealias Q = DeliveryQueueContractTests

    @Test(arguments: Backend.available)
    func backlogRunsFailuresAndAReplayAddUp(_ backend: Backend) async throws {
        try await backend.withStore { store in
            let destination = try Q.destination()
            let ids = (0..<4).map(Q.contactId)
            // Four records and one profile excluded for its malformed Id.
            _ = try await store.ingest(ids.map { Q.profile($0, lastName: "L") } + [Q.profile("003notAnId", lastName: "X")], into: [destination], at: Q.t0)
            #expect(try await store.backlog(destinationId: "dest-1") == Self.backlog(pending: 4))
            #expect(try await store.profileCount() == 5)
            #expect(try await store.audienceCounts(segmentIds: ["seg-gold", "seg-none"]) == ["seg-gold": Self.realized(5), "seg-none": AudienceCounts()])
            #expect(try await store.audiencesSeen() == ["seg-gold": Self.realized(5)])
            #expect(try await store.recentProfiles(limit: 2).map { $0.identities["crmID"] ?? [] } == [["003notAnId"], [ids[3]]])

            let claimed = try await store.claim(destinationId: "dest-1", limit: 10, lease: 60, now: Q.t0)
            #expect(try await store.backlog(destinationId: "dest-1") == Self.backlog(inFlight: 4))
            try await store.complete(destinationId: "dest-1", claim: claimed[0].claim, results: [
                ids[0]: .acknowledged,
                ids[1]: .failed(code: "INVALID_EMAIL_ADDRESS", message: "Email: invalid email address", fields: ["Email"]),
                ids[2]: .failed(code: "INVALID_EMAIL_ADDRESS", message: "Email: invalid email address", fields: ["Email"]),
                ids[3]: .retry(code: "UNABLE_TO_LOCK_ROW", message: "locked", at: Q.t0.addingTimeInterval(30)),
            ], now: Q.t0)
            #expect(try await store.backlog(destinationId: "dest-1") == Self.backlog(retrying: 1, failed: 2))

            let run = try #require(try await store.runs(destinationId: "dest-1", limit: 5).first)
            #expect((run.received, run.activated, run.unchanged, run.excluded, run.failed) == (5, 1, 0, 1, 2))
            #expect(run.start == Date(timeIntervalSince1970: 1_795_168_800) && run.end == run.start.addingTimeInterval(3_600))
            #expect(run.firstReceivedAt == Q.t0 && run.lastResolvedAt == Q.t0)

            let groups = try await store.failures(destinationId: "dest-1")
            #expect(groups.map(\.code) == ["INVALID_EMAIL_ADDRESS", "MALFORMED_ID"])
            #expect(groups[0].count == 2 && groups[0].kind == "failed" && groups[0].fields == ["Email"])
            #expect(Set(groups[0].sampleRecordIds) == [ids[1], ids[2]])
            #expect(groups[1].kind == "excluded" && groups[1].sampleRecordIds == ["003notAnId"])

            let failed = try #require(try await store.recordState(destinationId: "dest-1", recordId: String(ids[1].prefix(15))))
            #expect(failed.recordId == ids[1])
            #expect(failed.lastError?.code == "INVALID_EMAIL_ADDRESS" && failed.lastError?.kind == "failed" && failed.lastError?.fields == ["Email"])
            #expect(failed.pending.isEmpty && failed.acknowledged.isEmpty)
            let retrying = try #require(try await store.recordState(destinationId: "dest-1", recordId: ids[3]))
            #expect(retrying.lastError?.kind == "retrying" && retrying.attempts == 1)
            #expect(retrying.pending == ["LastName": .string("L"), "crm_1_seg__c": .string("realized")])
            let delivered = try #require(try await store.recordState(destinationId: "dest-1", recordId: ids[0]))
            #expect(delivered.acknowledged == ["LastName": .string("L"), "crm_1_seg__c": .string("realized")] && delivered.lastError == nil)
            #expect(try await store.recordState(destinationId: "dest-1", recordId: Q.contactId(99)) == nil)

            // A replay of one of the two by its 15-character Id: it is queued with what it sent.
            #expect(try await store.retryFailures(destinationId: "dest-1", codes: ["OTHER"], recordIds: nil, now: Q.t0) == 0)
            #expect(try await store.retryFailures(destinationId: "dest-1", codes: nil, recordIds: [String(ids[1].prefix(15))], now: Q.t0) == 1)
            #expect(try await store.backlog(destinationId: "dest-1") == Self.backlog(pending: 1, retrying: 1, failed: 1))
            let replayed = try await store.claim(destinationId: "dest-1", limit: 10, lease: 60, now: Q.t0)
            #expect(replayed.map(\.recordId) == [ids[1]])
            #expect(replayed.first?.fields == ["LastName": .string("L"), "crm_1_seg__c": .string("realized")])

            let history = try await store.recordHistory(destinationId: "dest-1", recordId: ids[1], limit: 10)
            #expect(history.map(\.event) == [.sent, .failed, .replayed, .sent])
            #expect(history[1].code == "INVALID_EMAIL_ADDRESS" && history[1].errorFields == ["Email"] && history[1].attempt == 1)
            #expect(history[0].fields == ["LastName": .string("L"), "crm_1_seg__c": .string("realized")])
            #expect(try await store.recordHistory(destinationId: "dest-1", recordId: ids[1], limit: 2).map(\.event) == [.replayed, .sent])
        }
    }

    @Test(arguments: Backend.available)
    func historyKeepsTheNewestEntriesOfEachRecord(_ backend: Backend) async throws {
        try await backend.withStore { store in
            let destination = try Q.destination()
            let id = Q.ids[0]
            for round in 0..<45 {
                _ = try await store.ingest([Q.profile(id, lastName: "Round \(round)")], into: [destination], at: Q.t0)
                let claimed = try await store.claim(destinationId: "dest-1", limit: 1, lease: 60, now: Q.t0)
                try await store.complete(destinationId: "dest-1", claim: claimed[0].claim, results: [id: .acknowledged], now: Q.t0)
            }
            // 90 entries written, pruned in steps: at least the newest 50 kept, never more than 75.
            let history = try await store.recordHistory(destinationId: "dest-1", recordId: id, limit: 1_000)
            #expect(history.count >= 50 && history.count <= 75, "\(history.count) entries kept")
            #expect(history.last?.event == .acknowledged)
            #expect(history.dropLast().last?.fields["LastName"] == .string("Round 44"))
        }
    }

    /// The periodic queries read their growing tables through their indexes, never a scan, with
    /// tens of thousands of delivered records, exclusions and run windows in the tables.
    @Test(arguments: Backend.available.filter { $0 == .postgres })
    func postgresPeriodicQueriesUseTheirIndexes(_ backend: Backend) async throws {
        try await PostgresTestDatabase.with { url in
            try await PostgresStore.run(url: url, secrets: Backend.secrets, logger: Backend.logger) { store in
                // A few queued through the store; the history beside them is written below.
                let destination = try Q.destination()
                _ = try await store.ingest(Q.ids.map { Q.profile($0, lastName: "New") }, into: [destination], at: Q.t0)
                _ = try await store.claim(destinationId: "dest-1", limit: 1, lease: 60, now: Q.t0)
            }
            try await PostgresTestDatabase.admin(url) { client in
                // Delivered records (settled: nothing pending), many windows of history, and many
                // exclusions beside the failures, over 20 destinations.
                try await client.query("""
                    INSERT INTO records (destination_id, record_id, acknowledged_at, history_entries)
                    SELECT 'dest-' || (n % 20), 'r' || n, 0, 2 FROM generate_series(1, 50000) n
                    """, logger: Backend.logger)
                try await client.query("""
                    INSERT INTO runs (destination_id, hour_start, received) SELECT 'dest-' || (n % 20), n::bigint * 3600000, 1 FROM generate_series(1, 20000) n
                    """, logger: Backend.logger)
                try await client.query("""
                    INSERT INTO failures (destination_id, record_key, kind, code, message, fields, at)
                    SELECT 'dest-' || (n % 20), 'k' || n, 'excluded', 'MALFORMED_ID', 'bad', '[]', 0 FROM generate_series(1, 20000) n
                    """, logger: Backend.logger)
                // Resolved alerts and deliveries given up accumulate; one of each is live.
                try await client.query("""
                    INSERT INTO alerts (id, rule, destination_id, state, message, details, opened_at, resolved_at)
                    SELECT 'a' || n, 'flowRunDelay', 'dest-' || (n % 20), 'resolved', 'late', '{}', n, n + 1 FROM generate_series(1, 20000) n
                    """, logger: Backend.logger)
                try await client.query("""
                    INSERT INTO webhook_deliveries (event_id, subscription_id, body, state, due_at, created_at)
                    SELECT 'e' || n, 'sub', '\\x7b7d', 'failed', n, n FROM generate_series(1, 20000) n
                    """, logger: Backend.logger)
                try await client.query("""
                    INSERT INTO bulk_jobs (id, destination_id, object, state, created_at, finished_at)
                    SELECT '750' || n, 'dest-' || (n % 20), 'Contact', 'JobComplete', n, n + 1 FROM generate_series(1, 20000) n
                    """, logger: Backend.logger)
                try await client.query("ANALYZE", logger: Backend.logger)
                for periodic in PostgresPeriodicQuery.allCases where !periodic.expectedIndexes.isEmpty {
                    var explained = periodic.query("dest-1")
                    explained.sql = "EXPLAIN " + explained.sql
                    var plan = ""
                    for try await line in try await client.query(explained, logger: Backend.logger).decode(String.self) { plan += line + "\n" }
                    // Configuration tables (subscriptions, a row per destination) may be scanned;
                    // the tables that grow with history never.
                    for table in ["records", "failures", "runs", "alerts", "webhook_deliveries", "profiles", "record_history", "bulk_jobs"] {
                        #expect(!plan.contains("Seq Scan on \(table) "), "\(periodic) scans \(table): \(plan)")
                    }
                    for index in periodic.expectedIndexes {
                        #expect(plan.contains("using \(index) on"), "\(periodic) does not read \(index): \(plan)")
                    }
                }
            }
        }
    }

    @Test(arguments: Backend.available)
    func alertsOpenOnceAndTheirWebhooksAreHeldWhileSent(_ backend: Backend) async throws {
        try await backend.withStore { store in
            let now = Q.t0
            try await store.saveAlertSubscription(AlertSubscription(id: "sub_all", url: "https://hooks.example.com/a/t0k3n", secret: "s3cret-s3cret-s3cret", destinationId: nil, createdAt: now))
            try await store.saveAlertSubscription(AlertSubscription(id: "sub_other", url: "https://hooks.example.com/b", secret: "another-secret-value", destinationId: "dest_other", createdAt: now))
            #expect(try await store.alertSubscriptions().map(\.url) == ["https://hooks.example.com/a/t0k3n", "https://hooks.example.com/b"])
            var settings = AlertSettings()
            settings.delayThresholdSeconds = 420
            try await store.saveAlertSettings(settings, destinationId: "dest_1")
            #expect(try await store.alertSettings(destinationId: "dest_1") == settings)
            #expect(try await store.alertSettings(destinationId: "dest_2") == AlertSettings())

            // Two evaluations opening the same rule's alert at once (two processes): one opens it.
            let alert = Alert(id: "alert_1", rule: .flowRunDelay, destinationId: "dest_1", state: .open, message: "late", details: ["waitedSeconds": .number(20)], openedAt: now)
            var twin = alert
            twin.id = "alert_2"
            async let first = store.recordAlertEvent(alert, eventId: "evt_1", body: Data("{}".utf8), at: now)
            async let second = store.recordAlertEvent(twin, eventId: "evt_2", body: Data("{}".utf8), at: now)
            #expect([try await first, try await second].filter { $0 }.count == 1)
            let open = try await store.alerts(state: .open, destinationId: "dest_1", limit: 10)
            #expect(open.count == 1)
            #expect(open.first?.details == ["waitedSeconds": .number(20)])

            // The event's delivery, for the subscription covering dest_1 only, is held once handed out.
            let due = try await store.dueWebhookDeliveries(now: now, limit: 10)
            #expect(due.map(\.subscriptionId) == ["sub_all"])
            #expect(due.first?.secret == "s3cret-s3cret-s3cret" && due.first?.url == "https://hooks.example.com/a/t0k3n")
            #expect(try await store.dueWebhookDeliveries(now: now, limit: 10).isEmpty, "held while being sent")
            #expect(try await store.dueWebhookDeliveries(now: now.addingTimeInterval(WebhookDelivery.lease), limit: 10).map(\.id) == due.map(\.id))
            let id = try #require(due.first?.id)
            try await store.webhookAttemptFailed(id: id, error: "the receiver answered 500", retryAt: now.addingTimeInterval(100))
            #expect(try await store.dueWebhookDeliveries(now: now.addingTimeInterval(99), limit: 10).isEmpty)
            #expect(try await store.dueWebhookDeliveries(now: now.addingTimeInterval(100), limit: 10).first?.attempts == 1)
            try await store.webhookAttemptFailed(id: id, error: "gone", retryAt: nil)
            #expect(try await store.dueWebhookDeliveries(now: now.addingTimeInterval(1e6), limit: 10).isEmpty)

            // Resolving queues the resolved event once; the list shows it.
            var resolved = try #require(open.first)
            resolved.state = .resolved
            resolved.resolvedAt = now.addingTimeInterval(5)
            #expect(try await store.recordAlertEvent(resolved, eventId: "evt_3", body: Data("{}".utf8), at: now.addingTimeInterval(5)))
            #expect(try await store.recordAlertEvent(resolved, eventId: "evt_4", body: Data("{}".utf8), at: now.addingTimeInterval(5)) == false)
            #expect(try await store.alerts(state: .open, destinationId: nil, limit: 10).isEmpty)
            #expect(try await store.alerts(state: nil, destinationId: "dest_1", limit: 10).first?.resolvedAt == now.addingTimeInterval(5))
            let resolvedEvent = try await store.dueWebhookDeliveries(now: now.addingTimeInterval(5), limit: 10)
            #expect(resolvedEvent.map(\.eventId) == ["evt_3"])
            try await store.webhookDelivered(id: try #require(resolvedEvent.first?.id))
            #expect(try await store.dueWebhookDeliveries(now: now.addingTimeInterval(1e6), limit: 10).isEmpty)

            #expect(try await store.deleteAlertSubscription(id: "sub_all"))
            #expect(try await store.deleteAlertSubscription(id: "sub_all") == false)
            #expect(try await store.alertSubscriptions().map(\.id) == ["sub_other"])
        }
    }

    @Test(arguments: Backend.available)
    func whatTheAlertRulesReadFollowsTheQueue(_ backend: Backend) async throws {
        try await backend.withStore { store in
            let destination = try Q.destination()
            #expect(try await store.oldestPendingChange(destinationId: "dest-1") == nil)
            _ = try await store.ingest(Q.ids.map { Q.profile($0, lastName: "A") }, into: [destination], at: Q.t0)
            #expect(try await store.oldestPendingChange(destinationId: "dest-1") == Q.t0)
            let claimed = try await store.claim(destinationId: "dest-1", limit: 10, lease: 60, now: Q.t0)
            try await store.complete(destinationId: "dest-1", claim: claimed[0].claim, results: [
                Q.ids[0]: .failed(code: "RETRY_EXHAUSTED", message: "kept failing", fields: []),
                Q.ids[1]: .acknowledged,
            ], now: Q.t0.addingTimeInterval(1))
            #expect(try await store.failureCount(destinationId: "dest-1", code: "RETRY_EXHAUSTED") == 1)
            #expect(try await store.failureCount(destinationId: "dest-1", code: "OTHER") == 0)
            #expect(try await store.oldestPendingChange(destinationId: "dest-1") == nil)
        }
    }

    static func backlog(pending: Int = 0, inFlight: Int = 0, retrying: Int = 0, failed: Int = 0) -> Backlog {
        var backlog = Backlog()
        (backlog.pending, backlog.inFlight, backlog.retrying, backlog.failed) = (pending, inFlight, retrying, failed)
        return backlog
    }

    static func realized(_ count: Int) -> AudienceCounts {
        var counts = AudienceCounts()
        counts.realized = count
        return counts
    }
}
