import Foundation
import SfdestClient
import SfdestTestSupport
import Store
import Testing

/// `POST/PUT /v1/connections` with `"auth": {"type": "jwtBearer", ...}` against the emulator's
/// connected app (its certificate uploaded through the admin API).
@Suite("Connections: JWT bearer")
struct JWTConnectionTests {
    static let clientId = "sfdest-emulator-consumer-key"
    static let username = "integration@emulator.sfdest"

    static func body(_ harness: ServerHarness, pem: String, username: String = Self.username, audience: String? = nil) -> [String: Any] {
        var auth: [String: Any] = ["type": "jwtBearer", "clientId": Self.clientId, "username": username, "privateKeyPem": pem]
        if let audience { auth["audience"] = audience }
        return ["name": "JWT org", "loginUrl": harness.emulator.baseURL, "auth": auth]
    }

    /// The base64 lines of a PEM (what must never show anywhere).
    static func keyLines(_ pem: String) -> [String] {
        pem.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("-----") }
    }

    @Test func createsAJWTConnectionAndNeverShowsOrStoresTheKey() async throws {
        try await ServerHarness.run { harness in
            let keys = try JWTTestKeys.shared()
            try await harness.admin.setJWTCertificate(keys.certificatePem)
            let before = try await harness.admin.stats().tokenRequests

            let created = try await harness.api.send(.POST, "/v1/connections", json: Self.body(harness, pem: keys.privateKeyPem))
            #expect(created.status == 201, "\(created.text)")
            let id = try #require(created.object["id"] as? String)
            #expect(created.object["status"] as? String == "connected")
            #expect(created.object["instanceUrl"] as? String == harness.emulator.baseURL)
            let auth = try #require(created.object["auth"] as? [String: Any])
            #expect(auth["type"] as? String == "jwtBearer")
            #expect(auth["username"] as? String == Self.username)
            #expect(auth["clientId"] as? String == Self.clientId)
            // The default audience of a loopback login URL is the URL itself.
            #expect(auth["audience"] as? String == harness.emulator.baseURL)
            #expect(auth["privateKeyPem"] == nil)
            #expect(try await harness.admin.stats().tokenRequests == before + 1)

            let shown = try await harness.api.send(.GET, "/v1/connections/\(id)")
            let listed = try await harness.api.send(.GET, "/v1/connections")
            let audit = try await harness.api.expect(200, .GET, "/v1/audit")
            let entry = try #require(audit.array.first { $0["action"] as? String == "connection.create" })
            let audited = try #require((entry["after"] as? [String: Any])?["auth"] as? [String: Any])
            #expect(audited["privateKeyPem"] as? String == "***")

            let lines = Self.keyLines(keys.privateKeyPem)
            #expect(lines.count > 20)
            #expect(!harness.logs.all.isEmpty)
            for line in lines {
                for reply in [created, shown, listed, audit] { #expect(!reply.text.contains(line)) }
                #expect(!harness.logs.all.contains { $0.contains(line) })
            }
            #expect(!harness.logs.all.contains { $0.contains("PRIVATE KEY") })
            // The database files hold the key sealed only: no line of its base64 body.
            let files = try FileManager.default.contentsOfDirectory(atPath: harness.directory.path)
            #expect(files.contains("sfdest.sqlite"))
            for file in files {
                let bytes = try Data(contentsOf: harness.directory.appendingPathComponent(file))
                for line in lines { #expect(bytes.range(of: Data(line.utf8)) == nil, "\(file) holds the private key") }
                #expect(bytes.range(of: Data("PRIVATE KEY".utf8)) == nil, "\(file) holds the PEM")
            }
        }
    }

    @Test func keysThatCannotSignAreRefusedPreciselyWithoutEchoingThem() async throws {
        try await ServerHarness.run { harness in
            let keys = try JWTTestKeys.shared()
            try await harness.admin.setJWTCertificate(keys.certificatePem)
            let cases: [(String, String)] = [
                ("MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ", "paste the whole file including the BEGIN and END lines"),
                (keys.encryptedPrivateKeyPem, "openssl pkey -in"),
                (keys.smallPrivateKeyPem, "1024 bits"),
                (keys.certificatePem, "not the private key"),
                (keys.ecPrivateKeyPem, "not an RSA private key"),
            ]
            for (pem, expected) in cases {
                let reply = try await harness.api.send(.POST, "/v1/connections", json: Self.body(harness, pem: pem))
                #expect(reply.status == 422)
                #expect(reply.errorCode == "validation_failed")
                #expect(reply.detailFields == ["auth.privateKeyPem"])
                #expect(reply.detailMessages.first?.contains(expected) == true, "\(reply.detailMessages)")
                for line in Self.keyLines(pem) where line.count > 16 { #expect(!reply.text.contains(line)) }
            }
            #expect(try await harness.api.expect(200, .GET, "/v1/connections").array.isEmpty)
        }
    }

    @Test func theAudienceMustBeAnHTTPSURLAndIsUsedAsGiven() async throws {
        try await ServerHarness.run { harness in
            let keys = try JWTTestKeys.shared()
            try await harness.admin.setJWTCertificate(keys.certificatePem)
            for audience in ["login.salesforce.com", "ftp://login.salesforce.com", "http://login.salesforce.com"] {
                let reply = try await harness.api.send(.POST, "/v1/connections", json: Self.body(harness, pem: keys.privateKeyPem, audience: audience))
                #expect(reply.status == 422)
                #expect(reply.errorCode == "validation_failed")
                #expect(reply.detailFields == ["auth.audience"])
            }
            // Given, it is what the assertion carries: the emulator refuses production's audience
            // until its admin accepts it.
            let production = Self.body(harness, pem: keys.privateKeyPem, audience: "https://login.salesforce.com")
            let refused = try await harness.api.send(.POST, "/v1/connections", json: production)
            #expect(refused.status == 422)
            #expect(refused.errorCode == "authentication_failed")
            #expect(refused.errorMessage.contains("audience is invalid"))
            #expect(refused.errorMessage.contains("the assertion's audience was https://login.salesforce.com"))
            try await harness.admin.setConnectedApp(audiences: ["https://login.salesforce.com"])
            let accepted = try await harness.api.expect(201, .POST, "/v1/connections", json: production)
            #expect((accepted.object["auth"] as? [String: Any])?["audience"] as? String == "https://login.salesforce.com")
            let id = try #require(accepted.object["id"] as? String)
            let stored = try #require(try await harness.store.connection(id: id))
            #expect(stored.audience == "https://login.salesforce.com")
            // An audience with another flow is a mistake.
            var password = harness.connectionBody()
            var auth = password["auth"] as? [String: Any] ?? [:]
            auth["audience"] = "https://login.salesforce.com"
            password["auth"] = auth
            let wrongFlow = try await harness.api.send(.POST, "/v1/connections", json: password)
            #expect(wrongFlow.status == 422)
            #expect(wrongFlow.detailFields == ["auth.audience"])
        }
    }

    @Test func refusalsSayWhatToFix() async throws {
        try await ServerHarness.run { harness in
            let keys = try JWTTestKeys.shared()
            // No certificate uploaded yet.
            let noCertificate = try await harness.api.send(.POST, "/v1/connections", json: Self.body(harness, pem: keys.privateKeyPem))
            #expect(noCertificate.errorCode == "authentication_failed")
            #expect(noCertificate.errorMessage.contains("invalid assertion"))
            #expect(noCertificate.errorMessage.contains("Use digital signatures"))
            try await harness.admin.setJWTCertificate(keys.certificatePem)
            try await harness.admin.setConnectedApp(preAuthorized: false)
            let notApproved = try await harness.api.send(.POST, "/v1/connections", json: Self.body(harness, pem: keys.privateKeyPem))
            #expect(notApproved.errorCode == "authentication_failed")
            #expect(notApproved.errorMessage.contains("user hasn't approved this consumer"))
            #expect(notApproved.errorMessage.contains("Admin approved users are pre-authorized"))
            for reply in [noCertificate, notApproved] {
                for line in Self.keyLines(keys.privateKeyPem) { #expect(!reply.text.contains(line)) }
            }
        }
    }

    @Test func changingTheUsernameNeedsTheKeyAgainAndLeavingItOutKeepsIt() async throws {
        try await ServerHarness.run { harness in
            let keys = try JWTTestKeys.shared()
            try await harness.admin.setJWTCertificate(keys.certificatePem)
            let created = try await harness.api.expect(201, .POST, "/v1/connections", json: Self.body(harness, pem: keys.privateKeyPem))
            let id = try #require(created.object["id"] as? String)
            var rename = Self.body(harness, pem: keys.privateKeyPem)
            rename["name"] = "Renamed"
            var auth = rename["auth"] as? [String: Any] ?? [:]
            auth["privateKeyPem"] = nil
            rename["auth"] = auth
            // Same identity, key left out: the stored key is kept (and still logs in).
            let renamed = try await harness.api.send(.PUT, "/v1/connections/\(id)", json: rename)
            #expect(renamed.status == 200, "\(renamed.text)")
            #expect(renamed.object["name"] as? String == "Renamed")
            // Another user without the key: refused, naming the key.
            auth["username"] = "other@emulator.sfdest"
            rename["auth"] = auth
            let moved = try await harness.api.send(.PUT, "/v1/connections/\(id)", json: rename)
            #expect(moved.status == 422)
            #expect(moved.errorCode == "validation_failed")
            #expect(moved.detailFields == ["auth.privateKeyPem"])
            #expect(moved.detailMessages.first?.contains("required again") == true)
            // Another login URL without the key: refused too.
            var relocated = Self.body(harness, pem: keys.privateKeyPem)
            relocated["loginUrl"] = harness.emulator.baseURL.replacingOccurrences(of: "127.0.0.1", with: "localhost")
            var relocatedAuth = relocated["auth"] as? [String: Any] ?? [:]
            relocatedAuth["privateKeyPem"] = nil
            relocated["auth"] = relocatedAuth
            let relocatedReply = try await harness.api.send(.PUT, "/v1/connections/\(id)", json: relocated)
            #expect(relocatedReply.status == 422)
            #expect(relocatedReply.detailFields == ["auth.privateKeyPem"])
            let stored = try #require(try await harness.store.connection(id: id))
            #expect(stored.secrets.privateKeyPem == keys.privateKeyPem)
            #expect(stored.username == Self.username)
        }
    }
}
