import Foundation
import Logging
import SfdestClient
import SfdestRuntime
import Store
import SfdestTestSupport
import Testing

@Suite("The bootstrap API key")
struct BootstrapKeyTests {
    static func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-keys-\(UUID().uuidString)").path
    }

    @Test func aShortSFDEST_API_KEYIsRefused() throws {
        let path = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let short = String(repeating: "k", count: 31)
        #expect {
            try DataDirectory(path: path).open(environment: ["SFDEST_API_KEY": short])
        } throws: { error in
            let text = "\(error)"
            return error is DataDirectoryError && text.contains("SFDEST_API_KEY") && text.contains("32") && !text.contains(short)
        }
        let keys = try DataDirectory(path: path).open(environment: ["SFDEST_API_KEY": short + "k"])
        #expect(keys.apiKey == short + "k")
        #expect(keys.apiKeyHash == APIKeyMaterial.hash(short + "k"))
        // The runtime (what `sfdest serve` opens) refuses it as well.
        var settings = SfdestRuntime.Settings(dataDirectory: path)
        settings.environment = ["SFDEST_API_KEY": "too-short"]
        #expect(throws: DataDirectoryError.self) { try SfdestRuntime(settings: settings, logger: .init(label: "test")) }
    }

    @Test func theGeneratedKeyIsKeptOnlyAsItsHash() throws {
        // setup
        let path = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }

        // run
        let first = try DataDirectory(path: path).open(environment: [:])
        let again = try DataDirectory(path: path).open(environment: [:])

        // validate
        let key = try #require(first.apiKey)
        #expect(first.apiKeyIsNew)
        #expect(key.hasPrefix("sfd_") && key.count >= 40)
        #expect(again.apiKey == nil && !again.apiKeyIsNew)
        #expect(again.apiKeyHash == APIKeyMaterial.hash(key))
        let file = URL(fileURLWithPath: path).appendingPathComponent("api-key.sha256")
        #expect(try String(contentsOf: file, encoding: .utf8) == APIKeyMaterial.hash(key))
        let mode = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        for name in try FileManager.default.contentsOfDirectory(atPath: path) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path).appendingPathComponent(name))
            #expect(bytes.range(of: Data(key.utf8)) == nil, "\(name) holds the key")
        }
        #expect(throws: DataDirectoryError.self) { try again.requireAPIKey() }
    }

    @Test func aKeySealedByAnEarlierVersionIsHashedOnceAndItsFileRemoved() throws {
        // setup: a data directory as an earlier version left it
        let path = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let directory = URL(fileURLWithPath: path)
        _ = try DataDirectory(path: path).open(environment: [:])
        try FileManager.default.removeItem(at: directory.appendingPathComponent("api-key.sha256"))
        let masterKey = try String(contentsOf: directory.appendingPathComponent("master.key"), encoding: .utf8)
        let oldKey = "sfd_an-old-key-sealed-by-version-one-0123456789"
        let sealed = try SecretBox(base64Key: masterKey).seal(Data(oldKey.utf8))
        try sealed.write(to: directory.appendingPathComponent("api-key.sealed"))

        // run
        let migrated = try DataDirectory(path: path).open(environment: [:])
        let later = try DataDirectory(path: path).open(environment: [:])

        // validate
        #expect(migrated.apiKeyMigrated && !migrated.apiKeyIsNew)
        #expect(migrated.apiKey == oldKey)
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("api-key.sealed").path))
        #expect(later.apiKey == nil && !later.apiKeyMigrated)
        #expect(later.apiKeyHash == APIKeyMaterial.hash(oldKey))
    }

    @Test func theHashedBootstrapKeyStillAuthenticatesAsAdmin() async throws {
        // setup: a data directory opened before, so the runtime knows only the key's hash
        let path = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let key = try #require(try DataDirectory(path: path).open(environment: [:]).apiKey)
        let runtime = try SfdestRuntime(settings: ServiceHarness.testSettings(dataDirectory: path), logger: .init(label: "test"))
        #expect(runtime.keys.apiKey == nil)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { continuation.finish() }
                try await runtime.run(gracefulShutdownSignals: []) { continuation.yield($0) }
            }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            let client = ContractClient(baseURL: "http://127.0.0.1:\(port)", apiKey: key)

            // run
            let keys = try await client.send(.GET, "/v1/keys")
            let audit = try await client.send(.GET, "/v1/audit")
            let wrong = try await client.send(.GET, "/v1/keys", authorization: .key(key + "x"))
            await runtime.shutdown()
            try await group.waitForAll()

            // validate
            #expect(keys.status == 200)
            #expect(audit.status == 200)
            #expect(wrong.status == 401)
        }
    }
}
