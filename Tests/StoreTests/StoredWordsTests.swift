import Foundation
import GRDB
import Testing
@testable import Store

@Suite("Stored words read back as enums")
struct StoredWordsTests {
    @Test func everyWordRoundTripsAndAnUnknownOneIsReported() async throws {
        let temp = try TemporaryStore()
        for (index, (kind, type)) in zip(Connection.LoginKind.allCases, Connection.AuthType.allCases).enumerated() {
            let connection = Connection(
                id: "c\(index)", name: "A", loginKind: kind, loginValue: "acme", apiVersion: "v66.0", authType: type,
                username: nil, clientId: "x", secrets: ConnectionSecrets(clientSecret: "s"), status: .authenticationFailed,
                instanceUrl: nil, createdAt: t0, updatedAt: t0
            )
            try await temp.store.saveConnection(connection)
            #expect(try await temp.store.connection(id: "c\(index)") == connection)
        }
        try await temp.store.pool.write { db in try db.execute(sql: "UPDATE connections SET auth_type = 'samlBearer' WHERE id = 'c0'") }
        await #expect(throws: StoreUnavailable.self) { _ = try await temp.store.connection(id: "c0") }
        do {
            _ = try await temp.store.connection(id: "c0")
        } catch {
            #expect("\(error)".contains("auth_type 'samlBearer'"))
        }
    }
}
