import AsyncHTTPClient
import Delivery
import EmulatorAdminClient
import Foundation
import Logging
import SalesforceAPI
import SalesforceEmulator
import Store
import Testing

/// A connection's Salesforce session shared by the processes of a deployment, the same on every
/// backend: kept sealed for the credentials it was issued for, and one token request at a time
/// across processes (each `SalesforceClients` here stands for one process).
@Suite("Store contract: shared Salesforce sessions")
struct SharedSessionContractTests {
    typealias Q = DeliveryQueueContractTests

    static func connection(loginURL: String, updatedAt: Date = Q.t0) -> Connection {
        Connection(
            id: "conn-1", name: "c", loginKind: .loginUrl, loginValue: loginURL, apiVersion: "v66.0", authType: .password,
            username: "integration@emulator.sfdest", clientId: "sfdest-emulator-consumer-key",
            secrets: ConnectionSecrets(password: "emulator-pw", securityToken: "TOKEN123", clientSecret: "sfdest-emulator-consumer-secret"),
            status: .connected, instanceUrl: nil, createdAt: Q.t0, updatedAt: updatedAt
        )
    }

    @Test(arguments: Backend.available)
    func aSessionIsKeptForTheCredentialsItWasIssuedForAndGoesWithTheConnection(_ backend: Backend) async throws {
        try await backend.withStore { store in
            try await store.saveConnection(Self.connection(loginURL: "http://127.0.0.1:1"))
            #expect(try await store.storedSession(connectionId: "conn-1", credentialsAt: Q.t0) == nil)
            try await store.saveSession(Data("first".utf8), connectionId: "conn-1", credentialsAt: Q.t0, at: Q.t0)
            #expect(try await store.storedSession(connectionId: "conn-1", credentialsAt: Q.t0) == Data("first".utf8))
            // New credentials never get the old session; their own replaces it.
            let later = Q.t0.addingTimeInterval(60)
            #expect(try await store.storedSession(connectionId: "conn-1", credentialsAt: later) == nil)
            try await store.saveSession(Data("second".utf8), connectionId: "conn-1", credentialsAt: later, at: later)
            #expect(try await store.storedSession(connectionId: "conn-1", credentialsAt: later) == Data("second".utf8))
            #expect(try await store.storedSession(connectionId: "conn-1", credentialsAt: Q.t0) == nil)
            #expect(try await store.deleteConnection(id: "conn-1"))
            #expect(try await store.storedSession(connectionId: "conn-1", credentialsAt: later) == nil)
        }
    }

    @Test(arguments: Backend.available)
    func aReleasedTurnIsFreeAtOnceAndOnlyItsHolderReleasesIt(_ backend: Backend) async throws {
        try await backend.withStore { (store: any ContractStore) async throws in
            #expect(try await store.takeTurn("token:c", holder: 1, lease: 30, now: Q.t0))
            try await store.releaseTurn("token:c", holder: 2)
            #expect(try await store.takeTurn("token:c", holder: 2, lease: 30, now: Q.t0) == false)
            try await store.releaseTurn("token:c", holder: 1)
            #expect(try await store.takeTurn("token:c", holder: 2, lease: 30, now: Q.t0))
        }
    }

    @Test(arguments: Backend.available)
    func twoProcessesOfOneConnectionAskForOneTokenAndOneMoreWhenItExpires(_ backend: Backend) async throws {
        var logger = Logger(label: "shared-sessions")
        logger.logLevel = .warning
        try await SalesforceEmulator.with(EmulatorConfiguration(port: 0, contacts: 1), logger: logger) { emulator in
            let admin = EmulatorAdminClient(baseURL: emulator.baseURL)
            try await backend.withStore { store in
                try await store.saveConnection(Self.connection(loginURL: emulator.baseURL))
                let processes = (0..<2).map { _ in SalesforceClients(store: store, httpClient: .shared, logger: logger, sharesSessions: true) }
                let clients = [try await processes[0].client(connectionId: "conn-1"), try await processes[1].client(connectionId: "conn-1")]

                // Both need a token at once: one asks, the other uses what it saved.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for client in clients { group.addTask { _ = try await client.limits() } }
                    try await group.waitForAll()
                }
                #expect(try await admin.stats().tokenRequests == 1)

                // Salesforce ends the session: both are refused, one new token serves both.
                try await admin.expireSessions()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for client in clients { group.addTask { _ = try await client.limits() } }
                    try await group.waitForAll()
                }
                let stats = try await admin.stats()
                #expect(stats.tokenRequests == 2)
                #expect(stats.tokensRefused >= 1)

                // A third process starting now asks for none.
                let third = SalesforceClients(store: store, httpClient: .shared, logger: logger, sharesSessions: true)
                _ = try await third.client(connectionId: "conn-1").limits()
                #expect(try await admin.stats().tokenRequests == 2)
            }
        }
    }

    @Test
    func theSessionIsSealedInTheDatabaseFile() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-sessions-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("sfdest.sqlite").path
        let token = "00DSESSION!\(UUID().uuidString)"
        do {
            let store = try SQLiteStore(path: path, secrets: Backend.secrets)
            try await store.saveConnection(Self.connection(loginURL: "http://127.0.0.1:1"))
            try await store.saveSession(Data(token.utf8), connectionId: "conn-1", credentialsAt: Q.t0, at: Q.t0)
            #expect(try await store.storedSession(connectionId: "conn-1", credentialsAt: Q.t0) == Data(token.utf8))
        }
        var bytes = Data()
        for file in try FileManager.default.contentsOfDirectory(atPath: directory.path) {
            bytes.append(try Data(contentsOf: directory.appendingPathComponent(file)))
        }
        #expect(bytes.range(of: Data(token.utf8)) == nil, "the session's token is in the database's files in the clear")
    }
}
