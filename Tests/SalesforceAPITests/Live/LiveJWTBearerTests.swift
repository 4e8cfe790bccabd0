import EmulatorAdminClient
import Foundation
import Logging
import SalesforceAPI
import SalesforceEmulator
import SfdestTestSupport
import Testing

/// The client's JWT bearer flow against the emulator's connected app, over real HTTP.
@Suite("Live: JWT bearer flow")
struct LiveJWTBearerTests {
    static func withOrg(_ body: (LiveOrg, JWTTestKeys) async throws -> Void) async throws {
        let keys = try JWTTestKeys.shared()
        try await SalesforceEmulator.with(EmulatorConfiguration(port: 0, contacts: 2, jwtCertificatePem: keys.certificatePem)) { emulator in
            try await body(LiveOrg(emulator: emulator, admin: EmulatorAdminClient(baseURL: emulator.baseURL, httpClient: .shared)), keys)
        }
    }

    static func credentials(_ keys: JWTTestKeys, pem: String? = nil, username: String = LiveOrg.username, audience: String? = nil) -> SalesforceCredentials {
        .jwtBearer(clientId: LiveOrg.clientId, username: username, privateKeyPem: pem ?? keys.privateKeyPem, audience: audience)
    }

    @Test("logs in with a signed assertion (the loopback login URL as audience) and calls the API")
    func logsIn() async throws {
        try await Self.withOrg { org, keys in
            let client = try org.client(Self.credentials(keys))
            let session = try await client.authenticate()
            #expect(session.instanceURL == org.emulator.baseURL)
            _ = try await client.limits()
            // A PKCS#1 key works the same.
            _ = try await org.client(Self.credentials(keys, pem: keys.pkcs1PrivateKeyPem)).authenticate()
        }
    }

    @Test("a session that expires mid-run gets a new assertion (one token request) and the call goes through")
    func newAssertionAfterExpiry() async throws {
        try await Self.withOrg { org, keys in
            let client = try org.client(Self.credentials(keys))
            _ = try await client.limits()
            let before = try await org.admin.stats()
            try await org.admin.expireSessions()
            async let first = client.limits()
            async let second = client.limits()
            _ = try await (first, second)
            let after = try await org.admin.stats()
            #expect(after.tokenRequests == before.tokenRequests + 1)
            #expect(after.tokensIssued == before.tokensIssued + 1)
        }
    }

    @Test("refusals carry Salesforce's words and the fix")
    func refusals() async throws {
        try await Self.withOrg { org, keys in
            let wrongUser = await salesforceError { try await org.client(Self.credentials(keys, username: "nobody@acme.com")).authenticate() }
            #expect(wrongUser?.code == "invalid_grant")
            #expect(wrongUser?.message == "user hasn't approved this consumer")
            #expect(wrongUser?.hint?.contains("Admin approved users are pre-authorized") == true)
            let wrongAudience = await salesforceError {
                try await org.client(Self.credentials(keys, audience: "https://login.salesforce.com")).authenticate()
            }
            #expect(wrongAudience?.message == "audience is invalid")
            #expect(wrongAudience?.hint?.contains("https://login.salesforce.com") == true)
            let wrongKey = await salesforceError { try await org.client(Self.credentials(keys, pem: keys.otherPrivateKeyPem)).authenticate() }
            #expect(wrongKey?.message == "invalid assertion")
            for error in [wrongUser, wrongAudience, wrongKey].compactMap({ $0 }) {
                #expect(!error.description.contains("PRIVATE KEY"))
            }
        }
    }
}
