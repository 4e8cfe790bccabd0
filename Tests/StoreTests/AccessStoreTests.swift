import Foundation
import GRDB
import SfdestJSON
import Testing
@testable import Store

@Suite("API keys and the audit log in the store")
struct AccessStoreTests {
    /// A store in a fresh directory with the given audit retention.
    static func store(auditEntries: Int = 10_000, auditDays: Int = 365) throws -> (SQLiteStore, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-access-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var limits = SQLiteStore.Limits()
        limits.auditEntries = auditEntries
        limits.auditDays = auditDays
        let store = try SQLiteStore(
            path: directory.appendingPathComponent("sfdest.sqlite").path, secrets: try SecretBox(base64Key: SecretBox.generateKey()), limits: limits
        )
        return (store, directory)
    }

    static func entry(_ action: String, at: Date = Date(), target: String? = nil) -> AuditEntry {
        AuditEntry(id: "aud_\(UUID().uuidString)", at: at, keyId: "key_a", keyName: "a", action: action, targetId: target, before: .null, after: ["n": "1"])
    }

    @Test func keysAreFoundByTheirHashAndRevokedWithTheirAuditEntryInOneCall() async throws {
        // setup
        let (store, directory) = try Self.store()
        defer { try? FileManager.default.removeItem(at: directory) }
        let material = APIKeyMaterial.generate()
        let key = APIKey(
            id: "key_1", name: "dashboard", permissions: [.viewDestinations, .viewMetrics], keyHash: APIKeyMaterial.hash(material),
            createdAt: Date(timeIntervalSince1970: 1_800_000_000), createdBy: "bootstrap"
        )

        // run
        try await store.createAPIKey(key, audit: Self.entry("key.create", target: "key_1"))
        let found = try await store.apiKey(hash: APIKeyMaterial.hash(material))
        let missing = try await store.apiKey(hash: APIKeyMaterial.hash(material + "x"))
        let revokedAt = Date(timeIntervalSince1970: 1_800_000_100)
        let revoked = try await store.revokeAPIKey(id: "key_1", at: revokedAt) { before, after in
            AuditEntry(
                id: "aud_revoke", at: revokedAt, keyId: nil, keyName: nil, action: "key.revoke", targetId: before.id,
                before: .string(before.revokedAt == nil ? "active" : "revoked"), after: .string(after.revokedAt == nil ? "active" : "revoked")
            )
        }
        let again = try await store.revokeAPIKey(id: "key_1", at: revokedAt.addingTimeInterval(60)) { _, _ in Self.entry("key.revoke") }
        let none = try await store.revokeAPIKey(id: "key_none", at: revokedAt) { _, _ in Self.entry("key.revoke") }
        let entries = try await store.auditEntries(limit: 10)

        // validate
        #expect(found == key)
        #expect(missing == nil)
        #expect(revoked?.revokedAt == revokedAt)
        #expect(again?.revokedAt == revokedAt, "revoking again keeps the first time")
        #expect(none == nil)
        #expect(try await store.apiKeys().map(\.revokedAt) == [revokedAt])
        #expect(entries.map(\.action) == ["key.revoke", "key.create"], "one entry per change, newest first")
        #expect(entries.first?.before == .string("active") && entries.first?.after == .string("revoked"))
        #expect(entries.last?.after == ["n": "1"])
    }

    @Test func theLookupByHashUsesAnIndex() async throws {
        let (store, directory) = try Self.store()
        defer { try? FileManager.default.removeItem(at: directory) }
        let plan = try await store.pool.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN SELECT * FROM api_keys WHERE key_hash = ?", arguments: ["x"])
                .map { $0["detail"] as String? ?? "" }.joined(separator: "; ")
        }
        #expect(plan.contains("USING INDEX"), "\(plan)")
        #expect(!plan.contains("SCAN"), "\(plan)")
    }

    @Test func theAuditLogKeepsTheNewestEntriesAndNoneTooOld() async throws {
        // setup: room for 3 entries of at most 30 days
        let (store, directory) = try Self.store(auditEntries: 3, auditDays: 30)
        defer { try? FileManager.default.removeItem(at: directory) }
        let now = Date()

        // run
        for index in 0..<5 {
            try await store.recordAudit(Self.entry("test.\(index)", at: now))
        }
        let kept = try await store.auditEntries(limit: 100).map(\.action)
        try await store.recordAudit(Self.entry("test.old", at: now.addingTimeInterval(-40 * 86_400)))
        try await store.recordAudit(Self.entry("test.new", at: now))
        let afterOld = try await store.auditEntries(limit: 100).map(\.action)

        // validate
        #expect(kept == ["test.4", "test.3", "test.2"])
        // The old entry is dropped by the next insert (each insert measures age from its own time).
        #expect(afterOld == ["test.new", "test.4"])
        #expect(try await store.auditEntries(limit: 1).map(\.action) == ["test.new"])
    }

    @Test func keyMaterialHashesAreSHA256Hex() {
        let material = APIKeyMaterial.generate()
        #expect(material.hasPrefix("sfd_") && material.count == 47)
        #expect(APIKeyMaterial.generate() != material)
        // SHA-256("abc"), the standard test vector.
        #expect(APIKeyMaterial.hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
