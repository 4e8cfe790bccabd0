import Activation
import Foundation
import GRDB
import Testing
@testable import Store

/// A database written by an earlier version (schema v4, rows as JSON, history with AUTOINCREMENT)
/// opened by this one: everything is read, and the new bookkeeping starts from what is there.
@Suite("Migrating a database of an earlier version")
struct MigrationTests {
    @Test func aV4DatabaseIsReadAndMigrated() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-migrate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("sfdest.sqlite").path
        let queued = "003xx000004TmiQAAS", retrying = "003xx000004TmiRAAS", settled = "003xx000004TmiSAAS"
        do {
            let queue = try DatabaseQueue(path: path)
            try SQLiteStore.migrator(secrets: try SecretBox(base64Key: SecretBox.generateKey())).migrate(queue, upTo: "v4_backfill")
            try await queue.write { db in
                try db.execute(sql: """
                    INSERT INTO profiles (id, body, updated_at) VALUES
                        (1, '{"i":{"crmID":["003xx000004TmiQAAS"]},"a":{"person.name.lastName":"Lovelace"},"m":{"seg-gold":["realized",1795168800000]}}', 0);
                    INSERT INTO identities (namespace, value, profile_id) VALUES ('crmID', '003xx000004TmiQAAS', 1);
                    INSERT INTO records (destination_id, record_id, acknowledged, pending, in_flight, due_at, attempts) VALUES
                        ('dest-1', '\(queued)', '{"LastName":"Byron"}', '{"f":{"LastName":"Lovelace"},"w":{"1795168800000":1}}', 0, 0, 0),
                        ('dest-1', '\(retrying)', NULL, '{"f":{"LastName":"Retry"},"w":{"1795168800000":1}}', 0, 0, 2),
                        ('dest-1', '\(settled)', '{"LastName":"Done"}', NULL, 0, NULL, 0);
                    INSERT INTO record_history (destination_id, record_id, at, event, attempt) VALUES
                        ('dest-1', '\(queued)', 0, 'sent', 1), ('dest-1', '\(queued)', 1, 'acknowledged', 1);
                    """)
            }
            try queue.close()
        }
        let store = try SQLiteStore(path: path, secrets: try SecretBox(base64Key: SecretBox.generateKey()))
        // The backlog counters start from the rows that were queued.
        let backlog = try await store.backlog(destinationId: "dest-1")
        #expect(backlog.pending == 1 && backlog.retrying == 1 && backlog.inFlight == 0)
        // JSON rows are read: the queued change is claimed with what Salesforce held before.
        let claimed = try await store.claim(destinationId: "dest-1", limit: 10, lease: 60, now: t0)
        #expect(Set(claimed.map(\.recordId)) == [queued, retrying])
        #expect(claimed.first { $0.recordId == queued }?.fields == ["LastName": .string("Lovelace")])
        #expect(try await store.backlog(destinationId: "dest-1").inFlight == 2)
        // The old history stays, and new entries follow it.
        let history = try await store.recordHistory(destinationId: "dest-1", recordId: queued, limit: 10)
        #expect(history.map(\.event) == [.sent, .acknowledged, .sent])
        // The stored JSON profile is merged with a new fragment and kept.
        let destination = try contactDestination()
        _ = try await store.ingest([fragment(queued, lastName: "King")], into: [destination], at: t0)
        #expect(try await store.recordState(destinationId: "dest-1", recordId: queued)?.pending["LastName"] == .string("King"))
        let reader = try DatabaseQueue(path: path)
        let (profiles, firstByte) = try await reader.read { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM profiles") ?? 0,
             try Data.fetchOne(db, sql: "SELECT CAST(body AS BLOB) FROM profiles WHERE id = 1")?.first)
        }
        try reader.close()
        #expect(profiles == 1, "the fragment was not merged into the stored profile")
        #expect(firstByte == StoredBinary.profileTag)
        let state = try #require(try await store.recordState(destinationId: "dest-1", recordId: settled))
        #expect(state.acknowledged == ["LastName": .string("Done")])
    }

    /// Sealed values written before v11 (not bound to their row, webhook URLs in the clear) are
    /// re-sealed bound, the URL sealed, and only its scheme and host kept readable.
    @Test func aV10DatabaseHasItsSecretsBoundAndWebhookURLsSealed() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-migrate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("sfdest.sqlite").path
        let key = SecretBox.generateKey()
        let box = try SecretBox(base64Key: key)
        let secrets = ConnectionSecrets(password: "pw-before-v11", securityToken: nil, clientSecret: "cs-before-v11")
        let url = "https://hooks.slack.test/services/T000/B000/token-in-the-path"
        do {
            let queue = try DatabaseQueue(path: path)
            try SQLiteStore.migrator(secrets: box).migrate(queue, upTo: "v10_retention_used")
            let sealedSecrets = try box.seal(JSONEncoder().encode(secrets))
            let sealedHookSecret = try box.seal(Data("hook-secret-1234567890".utf8))
            try await queue.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO connections (id, name, login_kind, login_value, api_version, auth_type, username, client_id,
                            sealed_secrets, status, created_at, updated_at)
                        VALUES ('c1', 'Acme', 'customDomain', 'acme', 'v66.0', 'password', 'ops@acme.com', '3MVG9', ?, 'connected', 0, 0)
                        """,
                    arguments: [sealedSecrets]
                )
                try db.execute(
                    sql: "INSERT INTO alert_subscriptions (id, url, sealed_secret, destination_id, created_at) VALUES ('sub1', ?, ?, NULL, 0)",
                    arguments: [url, sealedHookSecret]
                )
            }
            try queue.close()
        }
        let store = try SQLiteStore(path: path, secrets: box)
        #expect(try await store.connection(id: "c1")?.secrets == secrets)
        let subscription = try #require(try await store.alertSubscriptions().first)
        #expect(subscription.url == url)
        #expect(subscription.secret == "hook-secret-1234567890")
        let reader = try DatabaseQueue(path: path)
        let (shownURL, sealed) = try await reader.read { db in
            (try String.fetchOne(db, sql: "SELECT url FROM alert_subscriptions") ?? "",
             try Data.fetchOne(db, sql: "SELECT sealed_secrets FROM connections") ?? Data())
        }
        try reader.close()
        #expect(shownURL == "https://hooks.slack.test")
        // Nothing of the clear URL is left in the files (the upgrade rewrote them).
        var onDisk = Data()
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) {
            onDisk += try Data(contentsOf: directory.appendingPathComponent(name))
        }
        #expect(onDisk.range(of: Data("token-in-the-path".utf8)) == nil, "the webhook URL survived the upgrade in the clear")
        // Bound now: the value opens only for its own row.
        #expect(throws: SecretBoxError.self) { try box.open(sealed) }
        let bound = SealContext.connection(id: "c1", loginKind: "customDomain", loginValue: "acme", authType: "password", username: "ops@acme.com", clientId: "3MVG9")
        let elsewhere = SealContext.connection(id: "c2", loginKind: "customDomain", loginValue: "acme", authType: "password", username: "ops@acme.com", clientId: "3MVG9")
        #expect(throws: SecretBoxError.self) { try box.open(sealed, boundTo: elsewhere) }
        #expect(try JSONDecoder().decode(ConnectionSecrets.self, from: box.open(sealed, boundTo: bound)) == secrets)
    }
}
