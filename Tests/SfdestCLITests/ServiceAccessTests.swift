import Foundation
import SfdestCLI
import Testing

@Suite("Where the CLI's API key comes from")
struct ServiceAccessTests {
    static func keyFile(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-key-\(UUID().uuidString)").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func aKeyFileComesFirstThenTheEnvironment() throws {
        let file = try Self.keyFile("sfd_from-the-file\nsecond line\n")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let environment = ["SFDEST_API_KEY": "sfd_from-the-environment"]
        #expect(try ServiceAccess.resolve(environment: environment, keyFile: file, commandLineKey: nil)
            == .init(key: "sfd_from-the-file", warnings: []))
        #expect(try ServiceAccess.resolve(environment: environment, keyFile: nil, commandLineKey: nil)
            == .init(key: "sfd_from-the-environment", warnings: []))
    }

    @Test func aCommandLineKeyStillWorksButWarnsThatPsShowsIt() throws {
        let resolved = try ServiceAccess.resolve(environment: [:], keyFile: nil, commandLineKey: "sfd_typed")
        #expect(resolved.key == "sfd_typed")
        #expect(resolved.warnings.count == 1)
        #expect(resolved.warnings.first?.contains("ps") == true)
        #expect(resolved.warnings.first?.contains("--api-key-file") == true)
        // The environment wins over it, and the warning still shows.
        let both = try ServiceAccess.resolve(environment: ["SFDEST_API_KEY": "sfd_env"], keyFile: nil, commandLineKey: "sfd_typed")
        #expect(both.key == "sfd_env" && both.warnings.count == 1)
    }

    @Test func noKeySaysWhereToPutOne() throws {
        #expect {
            try ServiceAccess.resolve(environment: [:], keyFile: nil, commandLineKey: nil, dataDirectoryGiven: true)
        } throws: { error in
            let text = "\(error)"
            return text.contains("SFDEST_API_KEY") && text.contains("--api-key-file") && text.contains("hash")
        }
        let empty = try Self.keyFile("\n")
        defer { try? FileManager.default.removeItem(atPath: empty) }
        #expect(throws: ServiceAccess.Failure.self) { try ServiceAccess.resolve(environment: [:], keyFile: empty, commandLineKey: nil) }
        #expect(throws: ServiceAccess.Failure.self) { try ServiceAccess.resolve(environment: [:], keyFile: "/nonexistent/key", commandLineKey: nil) }
    }

    @Test func plainHTTPToAnotherMachineIsWarnedAbout() {
        for url in ["http://127.0.0.1:8080", "http://localhost:8080/", "http://[::1]:8080", "https://sfdest.example.com", "HTTPS://10.0.0.5"] {
            #expect(ServiceAccess.plainHTTPWarning(url: url) == nil, "\(url)")
        }
        for url in ["http://sfdest.example.com", "http://10.0.0.5:8080", "HTTP://192.168.1.20"] {
            #expect(ServiceAccess.plainHTTPWarning(url: url)?.contains("plain http") == true, "\(url)")
        }
    }

    @Test func theKeyListShowsStatusAndNeverMaterial() {
        let table = KeysCLI.table([
            ["id": "key_a", "name": "reps", "permissions": ["view-destinations"], "createdAt": "2026-12-01T10:00:00Z",
             "expiresAt": NSNull(), "revokedAt": NSNull(), "lastUsedAt": NSNull()],
            ["id": "key_b", "name": "old", "permissions": ["view-metrics", "manage-keys"], "createdAt": "2026-12-01T10:00:00Z",
             "expiresAt": "2020-01-01T00:00:00Z", "revokedAt": NSNull(), "lastUsedAt": "2026-12-01T11:00:00Z"],
            ["id": "key_c", "name": "gone", "permissions": ["admin"], "createdAt": "2026-12-01T10:00:00Z",
             "expiresAt": NSNull(), "revokedAt": "2026-12-01T12:00:00Z", "lastUsedAt": NSNull()],
        ])
        let lines = table.split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        #expect(lines[0].hasPrefix("ID") && lines[0].contains("PERMISSIONS") && lines[0].contains("STATUS"))
        #expect(lines[1].contains("key_a") && lines[1].contains("active"))
        #expect(lines[2].contains("view-metrics, manage-keys") && lines[2].contains("expired"))
        #expect(lines[3].contains("revoked"))
        #expect(KeysCLI.table([]).contains("sfdest keys create"))
    }
}
