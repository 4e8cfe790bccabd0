import Activation
import Foundation
import PostgresNIO
import PostgresStore
import SfdestJSON
import SfdestTestSupport
import Store
import Testing

/// The configuration and access roles, the same on every backend: what one backend does, the
/// other must do, down to the errors.
@Suite("Store contract: configuration and access, on SQLite and PostgreSQL")
struct ConfigurationAndAccessContractTests {
    static let now = Date(timeIntervalSince1970: 1_796_000_000.125)

    static func connection(_ id: String, name: String = "Acme", password: String = "pw-\(UUID().uuidString)") -> Connection {
        Connection(
            id: id, name: name, loginKind: .customDomain, loginValue: "acme-dev-ed", apiVersion: "v66.0", authType: .password,
            username: "ops@acme.com", clientId: "3MVG9-client", secrets: ConnectionSecrets(password: password, securityToken: "TOKEN", clientSecret: "cs"),
            status: .connected, statusMessage: nil, instanceUrl: "https://acme-dev-ed.my.salesforce.com", audience: nil,
            createdAt: Self.now, updatedAt: Self.now
        )
    }

    static func destination(_ id: String, connectionId: String, status: DestinationStatus = .draft) -> Destination {
        Destination(
            id: id, name: "Sales contacts", description: "for reps", connectionId: connectionId, objectType: .lead,
            operation: .upsert, convertedLeads: .followContact, status: status,
            mappings: [MappingSetting(source: "identityMap:email", target: "identity:ExternalId:Key__c")],
            segments: [SegmentSetting(segmentId: "seg-gold", mappingId: "crm_1_seg", startDate: "2026-11-01", endDate: nil)],
            orgFields: [SalesforceField(name: "Key__c", type: "string", length: 80, updateable: true, nillable: true, custom: true, externalId: true, idLookup: true)],
            deliveryError: nil, lastDeliveryAt: nil, createdAt: Self.now, updatedAt: Self.now, bulkThreshold: nil
        )
    }

    @Test(arguments: Backend.available)
    func connectionsComeBackAsSavedWithTheirSecrets(_ backend: Backend) async throws {
        try await backend.withStore { store in
            let first = Self.connection("conn_a")
            var second = Self.connection("conn_b", name: "Beta")
            second.createdAt = Self.now.addingTimeInterval(1)
            second.authType = .jwtBearer
            second.secrets = ConnectionSecrets(privateKeyPem: "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n")
            try await store.saveConnection(second)
            try await store.saveConnection(first)
            #expect(try await store.connection(id: "conn_a") == first)
            #expect(try await store.connections() == [first, second], "ordered by creation")
            #expect(try await store.connection(id: "conn_none") == nil)

            // A replacement keeps the creation time it is given and every new value.
            var replaced = first
            replaced.name = "Acme production"
            replaced.secrets.password = "new-password"
            replaced.status = .authenticationFailed
            replaced.statusMessage = "refused"
            replaced.updatedAt = Self.now.addingTimeInterval(60)
            try await store.saveConnection(replaced)
            #expect(try await store.connection(id: "conn_a") == replaced)
            #expect(try await store.connections().count == 2)
        }
    }

    @Test(arguments: Backend.available)
    func aStoreWithAnotherMasterKeyCannotOpenTheSecrets(_ backend: Backend) async throws {
        // One database, two keys: the second process of a deployment given the wrong key.
        switch backend {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-contract-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let path = directory.appendingPathComponent("sfdest.sqlite").path
            try await SQLiteStore(path: path, secrets: Backend.secrets).saveConnection(Self.connection("conn_a"))
            let other = try SQLiteStore(path: path, secrets: try SecretBox(base64Key: SecretBox.generateKey()))
            await #expect(throws: (any Error).self) { try await other.connection(id: "conn_a") }
        case .postgres:
            try await PostgresTestDatabase.with { url in
                try await PostgresStore.run(url: url, secrets: Backend.secrets, logger: Backend.logger) { store in
                    try await store.saveConnection(Self.connection("conn_a"))
                }
                // Processes start one by one: the one with another key stops at start, saying why.
                let refusal = await #expect(throws: PostgresStoreError.self) {
                    try await PostgresStore.run(url: url, secrets: try SecretBox(base64Key: SecretBox.generateKey()), logger: Backend.logger) { _ in
                        Issue.record("a store with another master key started")
                    }
                }
                #expect(refusal?.description.contains("SFDEST_MASTER_KEY") == true, "\(String(describing: refusal))")
            }
        }
    }

    @Test(arguments: Backend.available)
    func destinationsComeBackAsSavedAndSavingSettingsKeepsWhatDeliveryRecorded(_ backend: Backend) async throws {
        try await backend.withStore { store in
            try await store.saveConnection(Self.connection("conn_a"))
            var destination = Self.destination("dest_a", connectionId: "conn_a")
            try await store.saveDestination(destination)
            #expect(try await store.destination(id: "dest_a") == destination)
            destination.bulkThreshold = 5_000
            destination.status = .enabled
            destination.deliveryError = "paused: the org's API limit"
            destination.updatedAt = Self.now.addingTimeInterval(5)
            try await store.saveDestination(destination)
            #expect(try await store.destination(id: "dest_a") == destination)
            #expect(try await store.destinations() == [destination])
            #expect(try await store.destination(id: "dest_none") == nil)
        }
    }

    @Test(arguments: Backend.available)
    func deletesAreRefusedWhileInUseOrEnabled(_ backend: Backend) async throws {
        try await backend.withStore { store in
            try await store.saveConnection(Self.connection("conn_a"))
            try await store.saveDestination(Self.destination("dest_a", connectionId: "conn_a", status: .enabled))
            await #expect(throws: StoreConflict.self) { try await store.deleteConnection(id: "conn_a") }
            await #expect(throws: StoreConflict.self) { try await store.deleteDestination(id: "dest_a") }
            var disabled = Self.destination("dest_a", connectionId: "conn_a", status: .disabled)
            disabled.updatedAt = Self.now.addingTimeInterval(1)
            try await store.saveDestination(disabled)
            #expect(try await store.deleteDestination(id: "dest_a"))
            #expect(try await store.deleteDestination(id: "dest_a") == false)
            #expect(try await store.deleteConnection(id: "conn_a"))
            #expect(try await store.deleteConnection(id: "conn_a") == false)
            #expect(try await store.connections().isEmpty)
            #expect(try await store.destinations().isEmpty)
        }
    }

    static func key(_ id: String, hash: String, createdBy: String? = nil, at offset: Double = 0) -> APIKey {
        APIKey(
            id: id, name: "key \(id)", permissions: [.viewDestinations, .manageKeys], keyHash: hash,
            createdAt: Self.now.addingTimeInterval(offset), expiresAt: Self.now.addingTimeInterval(86_400), createdBy: createdBy
        )
    }

    static func audit(_ action: String, _ target: String?, at offset: Double = 0) -> AuditEntry {
        AuditEntry(
            id: "aud_\(UUID().uuidString.prefix(8))", at: Self.now.addingTimeInterval(offset), keyId: "bootstrap", keyName: "bootstrap key",
            action: action, targetId: target, before: .null, after: ["name": "x", "n": 2]
        )
    }

    @Test(arguments: Backend.available)
    func keysAreFoundByHashAndRevokingOneRevokesItsHeirs(_ backend: Backend) async throws {
        try await backend.withStore { store in
            let root = Self.key("key_root", hash: String(repeating: "a", count: 64))
            let child = Self.key("key_child", hash: String(repeating: "b", count: 64), createdBy: "key_root", at: 1)
            let grandchild = Self.key("key_grand", hash: String(repeating: "c", count: 64), createdBy: "key_child", at: 2)
            let other = Self.key("key_other", hash: String(repeating: "d", count: 64), at: 3)
            for key in [root, child, grandchild, other] {
                try await store.createAPIKey(key, audit: Self.audit("key.create", key.id))
            }
            #expect(try await store.apiKey(hash: String(repeating: "b", count: 64)) == child)
            #expect(try await store.apiKey(hash: String(repeating: "e", count: 64)) == nil)
            #expect(try await store.apiKeys().map(\.id) == ["key_root", "key_child", "key_grand", "key_other"])

            let used = Self.now.addingTimeInterval(30)
            try await store.apiKeyUsed(id: "key_other", at: used)
            #expect(try await store.apiKey(hash: String(repeating: "d", count: 64))?.lastUsedAt == used)

            let revokedAt = Self.now.addingTimeInterval(100)
            let after = try await store.revokeAPIKey(id: "key_root", at: revokedAt) { before, after in
                AuditEntry(id: "aud_revoke", at: revokedAt, keyId: nil, keyName: nil, action: "key.revoke", targetId: before.id, before: .null, after: .string(after.id))
            }
            #expect(after?.revokedAt == revokedAt)
            let keys = try await store.apiKeys()
            #expect(keys.filter { $0.revokedAt == revokedAt }.map(\.id) == ["key_root", "key_child", "key_grand"])
            #expect(keys.first { $0.id == "key_other" }?.revokedAt == nil)
            // Revoking again answers the key as it is and writes nothing more.
            let again = try await store.revokeAPIKey(id: "key_root", at: revokedAt.addingTimeInterval(5)) { _, _ in Self.audit("key.revoke", "again") }
            #expect(again?.revokedAt == revokedAt)
            #expect(try await store.revokeAPIKey(id: "key_none", at: revokedAt) { _, _ in Self.audit("key.revoke", "none") } == nil)

            let entries = try await store.auditEntries(limit: 100)
            #expect(entries.map(\.action) == ["key.revoke", "key.create", "key.create", "key.create", "key.create"], "newest first")
            #expect(entries.first?.id == "aud_revoke")
            #expect(entries.first?.after == .string("key_root"))
            #expect(entries.last?.after == ["name": "x", "n": 2])
            #expect(try await store.auditEntries(limit: 2).count == 2)
        }
    }

    @Test(arguments: Backend.available)
    func theAuditLogKeepsItsNewestEntriesAndNoneTooOld(_ backend: Backend) async throws {
        try await backend.withStore(auditEntries: 3) { store in
            // One entry older than the 365 days kept: pruned by the next insert.
            try await store.recordAudit(Self.audit("ancient", nil, at: -400 * 86_400))
            for number in 0..<5 {
                try await store.recordAudit(Self.audit("change", "n\(number)", at: Double(number)))
            }
            let entries = try await store.auditEntries(limit: 100)
            #expect(entries.map(\.targetId) == ["n4", "n3", "n2"])
        }
    }
}

@Suite("PostgreSQL store: migrations, and what only a shared database needs")
struct PostgresStoreTests {
    @Test(.enabled(if: Backend.available.contains(.postgres)))
    func processesStartingTogetherMigrateOnce() async throws {
        try await PostgresTestDatabase.with { url in
            // Four processes' stores starting at once on an empty database.
            try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try await PostgresStore.run(url: url, secrets: Backend.secrets, logger: Backend.logger) { try await $0.appliedMigrations() }
                    }
                }
                for try await applied in group {
                    #expect(applied == PostgresStore.migrationNames)
                }
            }
        }
    }

    @Test(.enabled(if: Backend.available.contains(.postgres)))
    func aConnectionRowPointedAtAnotherHostNoLongerOpens() async throws {
        try await PostgresTestDatabase.with { url in
            try await PostgresStore.run(url: url, secrets: Backend.secrets, logger: Backend.logger) { store in
                try await store.saveConnection(ConfigurationAndAccessContractTests.connection("conn_a", password: "the-password"))
            }
            try await PostgresTestDatabase.admin(url) { client in
                // The sealed bytes hold no secret in the clear.
                let rows = try await client.query("SELECT sealed_secrets FROM connections", logger: Backend.logger)
                for try await sealed in rows.decode(Data.self) {
                    #expect(!String(decoding: sealed, as: UTF8.self).contains("the-password"))
                }
                // Whoever can write the database, without the master key, moves the login host.
                try await client.query("UPDATE connections SET login_value = 'evil-dev-ed'", logger: Backend.logger)
            }
            try await PostgresStore.run(url: url, secrets: Backend.secrets, logger: Backend.logger) { store in
                await #expect(throws: (any Error).self) { try await store.connection(id: "conn_a") }
            }
        }
    }

    @Test func aBadURLSaysWhatIsWrong() {
        #expect(throws: PostgresURLError.self) { try PostgresURL("mysql://u@h/db") }
        #expect(throws: PostgresURLError.self) { try PostgresURL("postgres://h/db") }
        #expect(throws: PostgresURLError.self) { try PostgresURL("postgres://u@h/") }
        #expect(throws: PostgresURLError.self) { try PostgresURL("postgres://u@h/db?sslmode=verify-full") }
        let url = try? PostgresURL("postgres://sfdest:s%40cret@db.internal:6543/sfdest?sslmode=require")
        #expect(url?.password == "s@cret" && url?.port == 6543 && url?.database == "sfdest")
        #expect(url?.description == "postgres://sfdest:***@db.internal:6543/sfdest?sslmode=require", "no password in messages")
    }
}
