import Foundation
import Testing
@testable import SfdestRuntime
import Store

/// The master key on disk: created private, refused when others can read it, rotated in place.
@Suite("Data directory: the master key")
struct DataDirectoryTests {
    func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-datadir-\(UUID().uuidString)").path
    }

    func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? Int ?? -1) & 0o777
    }

    @Test func aGeneratedMasterKeyIsOwnerOnlyAndAnExposedOneIsRefused() throws {
        let path = self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let directory = DataDirectory(path: path)
        _ = try directory.open(environment: [:])
        #expect(try self.mode(directory.masterKeyURL.path) == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: path).allSatisfy { !$0.contains(".tmp-") }, "a temporary key file was left")

        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: directory.masterKeyURL.path)
        let refused = #expect(throws: DataDirectoryError.self) { try directory.open(environment: [:]) }
        #expect(refused?.description.contains("chmod 600") == true)
        // A directory others may write (they could plant key files) is refused too.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: directory.masterKeyURL.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: path)
        let writable = #expect(throws: DataDirectoryError.self) { try directory.open(environment: [:]) }
        #expect(writable?.description.contains("chmod 700") == true)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: directory.masterKeyURL.path)
        _ = try directory.open(environment: [:])
    }

    /// A data directory with a store holding one connection's secrets, sealed under its master key.
    func directoryWithSecrets(environment: [String: String]) async throws -> (DataDirectory, ConnectionSecrets) {
        let directory = DataDirectory(path: self.temporaryDirectory())
        let keys = try directory.open(environment: environment)
        let store = try SQLiteStore(path: directory.databasePath, secrets: keys.secrets)
        let secrets = ConnectionSecrets(password: "pw-\(UUID().uuidString)", clientSecret: "cs-\(UUID().uuidString)")
        let now = Date()
        try await store.saveConnection(Connection(
            id: "c1", name: "Acme", loginKind: .customDomain, loginValue: "acme", apiVersion: "v66.0", authType: .password,
            username: "ops@acme.com", clientId: "3MVG9", secrets: secrets, status: .connected, instanceUrl: nil, createdAt: now, updatedAt: now
        ))
        try await store.saveAlertSubscription(AlertSubscription(
            id: "sub1", url: "https://hooks.example.com/T/B/token", secret: "hook-secret-0123456789", destinationId: nil, createdAt: now
        ))
        return (directory, secrets)
    }

    @Test func rotatingTheKeyFileReSealsEverythingAndTheOldKeyNoLongerOpens() async throws {
        let (directory, secrets) = try await self.directoryWithSecrets(environment: [:])
        defer { try? FileManager.default.removeItem(at: directory.url) }
        let oldKey = try String(contentsOf: directory.masterKeyURL, encoding: .utf8)
        let rotation = try await directory.rotateMasterKey(environment: [:])
        #expect(rotation.resealed == 3)
        #expect(rotation.keyFile == directory.masterKeyURL.path)
        let newKey = try String(contentsOf: directory.masterKeyURL, encoding: .utf8)
        #expect(newKey != oldKey)
        #expect(try self.mode(directory.masterKeyURL.path) == 0o600)
        let reopened = try SQLiteStore(path: directory.databasePath, secrets: try directory.open(environment: [:]).secrets)
        #expect(try await reopened.connection(id: "c1")?.secrets == secrets)
        #expect(try await reopened.alertSubscriptions().first?.secret == "hook-secret-0123456789")
        let withOldKey = try SQLiteStore(path: directory.databasePath, secrets: try SecretBox(base64Key: oldKey))
        await #expect(throws: SecretBoxError.self) { try await withOldKey.connection(id: "c1") }
    }

    @Test func anInterruptedRotationStopsTheServiceUntilItIsFinished() async throws {
        let (directory, secrets) = try await self.directoryWithSecrets(environment: [:])
        defer { try? FileManager.default.removeItem(at: directory.url) }
        // Interrupted after the new key was written and the database re-sealed, before the rename.
        let next = SecretBox.generateKey()
        try DataDirectory.writePrivate(Data(next.utf8), to: directory.nextMasterKeyURL)
        let store = try SQLiteStore(path: directory.databasePath, secrets: try directory.masterKey(environment: [:]).0)
        _ = try await store.resealSecrets(under: try SecretBox(base64Key: next))
        let refused = #expect(throws: DataDirectoryError.self) { try directory.open(environment: [:]) }
        #expect(refused?.description.contains("rotate-master-key") == true)
        // Running it again finishes: nothing left to re-seal, the new key in place.
        let rotation = try await directory.rotateMasterKey(environment: [:])
        #expect(rotation.resealed == 0)
        #expect(try String(contentsOf: directory.masterKeyURL, encoding: .utf8) == next)
        let reopened = try SQLiteStore(path: directory.databasePath, secrets: try directory.open(environment: [:]).secrets)
        #expect(try await reopened.connection(id: "c1")?.secrets == secrets)
    }

    @Test func aKeyFromTheEnvironmentIsRotatedOnlyToANewKeyFromTheEnvironment() async throws {
        let environment = ["SFDEST_MASTER_KEY": SecretBox.generateKey()]
        let (directory, secrets) = try await self.directoryWithSecrets(environment: environment)
        defer { try? FileManager.default.removeItem(at: directory.url) }
        // A generated key would exist only on the command's output: refused.
        let refused = await #expect(throws: DataDirectoryError.self) { try await directory.rotateMasterKey(environment: environment) }
        #expect(refused?.description.contains("SFDEST_NEW_MASTER_KEY") == true)
        let next = SecretBox.generateKey()
        var both = environment
        both["SFDEST_NEW_MASTER_KEY"] = next
        let rotation = try await directory.rotateMasterKey(environment: both)
        #expect(rotation.newKeyToShow == nil && rotation.keyFile == nil)
        #expect(!FileManager.default.fileExists(atPath: directory.masterKeyURL.path), "a key from the environment must not be written to disk")
        let reopened = try SQLiteStore(path: directory.databasePath, secrets: try SecretBox(base64Key: next))
        #expect(try await reopened.connection(id: "c1")?.secrets == secrets)
    }
}
