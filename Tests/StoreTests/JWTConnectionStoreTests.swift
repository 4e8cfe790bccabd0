import Foundation
import GRDB
import Testing
@testable import Store

@Suite("JWT bearer connections in the store")
struct JWTConnectionStoreTests {
    /// PEM-shaped text whose body lines are unique to this test (the store does not parse keys).
    static let pem = "-----BEGIN PRIVATE KEY-----\n"
        + (0..<12).map { "MIIEvQ\($0)Lm9wZW5zc2wtaXMtbm90LXJ1bi1oZXJlLWluLXN0b3JlLXRlc3RzLXBlbS1saW5lLQ" }.joined(separator: "\n")
        + "\n-----END PRIVATE KEY-----\n"

    static func connection(audience: String?) -> Connection {
        Connection(
            id: "c-jwt", name: "Acme JWT", loginKind: .customDomain, loginValue: "acme--uat", apiVersion: "v66.0", authType: .jwtBearer,
            username: "ops@acme.com.uat", clientId: "3MVG9", secrets: ConnectionSecrets(privateKeyPem: Self.pem), status: .connected,
            instanceUrl: "https://acme--uat.sandbox.my.salesforce.com", audience: audience, createdAt: t0, updatedAt: t0
        )
    }

    @Test func thePrivateKeyIsSealedWithTheOtherSecretsAndTheAudienceRoundTrips() async throws {
        let temp = try TemporaryStore()
        let connection = Self.connection(audience: "https://test.salesforce.com")
        try await temp.store.saveConnection(connection)
        let read = try await temp.store.connection(id: "c-jwt")
        #expect(read == connection)
        #expect(read?.audience == "https://test.salesforce.com")
        #expect(read?.secrets.privateKeyPem == Self.pem)
        // No line of the PEM's body, nor its armour, is in the database files.
        let disk = try temp.bytesOnDisk()
        #expect(!disk.isEmpty)
        for line in Self.pem.split(separator: "\n") {
            #expect(disk.range(of: Data(line.utf8)) == nil, "\(line) is on disk in plain text")
        }
        // Without an audience: NULL, the login host's default.
        var defaulted = connection
        defaulted.audience = nil
        try await temp.store.saveConnection(defaulted)
        #expect(try await temp.store.connection(id: "c-jwt")?.audience == nil)
    }

    @Test func v12AddsTheAudienceColumnToExistingConnections() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-migrate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("sfdest.sqlite").path
        let box = try SecretBox(base64Key: SecretBox.generateKey())
        do {
            let queue = try DatabaseQueue(path: path)
            try SQLiteStore.migrator(secrets: box).migrate(queue, upTo: "v11_bound_secrets")
            let columns = try await queue.read { db in try db.columns(in: "connections").map(\.name) }
            #expect(!columns.contains("audience"))
            try queue.close()
        }
        let store = try SQLiteStore(path: path, secrets: box)
        try await store.saveConnection(Self.connection(audience: "https://login.salesforce.com"))
        #expect(try await store.connection(id: "c-jwt")?.audience == "https://login.salesforce.com")
        let reader = try DatabaseQueue(path: path)
        let (audience, applied) = try await reader.read { db in
            (try String.fetchOne(db, sql: "SELECT audience FROM connections WHERE id = 'c-jwt'"),
             try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations"))
        }
        try reader.close()
        #expect(audience == "https://login.salesforce.com")
        #expect(applied.contains("v12_connection_audience"))
    }
}
