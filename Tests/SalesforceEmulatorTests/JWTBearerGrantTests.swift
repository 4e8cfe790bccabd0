import EmulatorAdminClient
import Foundation
import SalesforceEmulator
import SfdestTestSupport
import Testing
import _CryptoExtras

/// The emulator's JWT bearer grant over real HTTP, with assertions this test signs itself (the
/// emulator shares no code with the client), so each claim can be got wrong on purpose.
@Suite("JWT bearer grant")
struct JWTBearerGrantTests {
    static let grantType = "urn:ietf:params:oauth:grant-type:jwt-bearer"

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// A compact JWS of `header` and `claims` signed RS256 with `keyPem`.
    static func assertion(keyPem: String, header: [String: Any] = ["alg": "RS256"], claims: [String: Any]) throws -> String {
        let input = Self.base64URL(try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
            + "." + Self.base64URL(try JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys]))
        let key = try _RSA.Signing.PrivateKey(pemRepresentation: keyPem)
        let signature = try key.signature(for: Data(input.utf8), padding: .insecurePKCS1v1_5)
        return input + "." + Self.base64URL(signature.rawRepresentation)
    }

    /// Claims the org accepts, with `changes` applied (`NSNull` removes a claim).
    static func claims(_ org: EmulatorHarness, _ changes: [String: Any] = [:]) -> [String: Any] {
        var claims: [String: Any] = [
            "iss": org.configuration.clientId, "sub": org.configuration.username, "aud": org.baseURL,
            "exp": Int(Date().timeIntervalSince1970) + 180,
        ]
        for (key, value) in changes {
            if value is NSNull { claims[key] = nil } else { claims[key] = value }
        }
        return claims
    }

    static func form(_ assertion: String) -> String {
        "grant_type=" + (Self.grantType.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "") + "&assertion=" + assertion
    }

    /// An emulator whose connected app has the test certificate (unless `certificate` is false).
    static func withOrg(certificate: Bool = true, _ body: (EmulatorHarness, JWTTestKeys) async throws -> Void) async throws {
        let keys = try JWTTestKeys.shared()
        let configuration = EmulatorConfiguration(port: 0, jwtCertificatePem: certificate ? keys.certificatePem : nil)
        try await SalesforceEmulator.with(configuration) { emulator in
            try await body(EmulatorHarness(emulator: emulator, configuration: configuration), keys)
        }
    }

    /// Expects the token endpoint to refuse `assertion` with `error` and `description`.
    static func expectRefused(
        _ org: EmulatorHarness, _ assertion: String, _ error: String, _ description: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let answer = try await org.requestToken(form: Self.form(assertion))
        #expect(answer.status == 400, sourceLocation: sourceLocation)
        #expect(answer.object["error"] as? String == error, sourceLocation: sourceLocation)
        #expect(answer.object["error_description"] as? String == description, sourceLocation: sourceLocation)
        #expect(answer.headers.first(name: "Cache-Control") == "no-store", sourceLocation: sourceLocation)
    }

    @Test("a valid assertion gets the same token answer as the other grants, without a refresh token, and the token works")
    func accepted() async throws {
        try await Self.withOrg { org, keys in
            let answer = try await org.requestToken(form: Self.form(try Self.assertion(keyPem: keys.privateKeyPem, claims: Self.claims(org))))
            #expect(answer.status == 200)
            let token = try #require(answer.object["access_token"] as? String)
            #expect(token.hasPrefix("00D"))
            #expect(answer.object["instance_url"] as? String == org.baseURL)
            #expect(answer.object["token_type"] as? String == "Bearer")
            #expect(answer.object["refresh_token"] == nil)
            #expect(try await org.rest(.GET, "/limits", token: token).status == 200)
            // A PKCS#1 key is the same key: its assertions verify too.
            let pkcs1 = try await org.requestToken(form: Self.form(try Self.assertion(keyPem: keys.pkcs1PrivateKeyPem, claims: Self.claims(org))))
            #expect(pkcs1.status == 200)
            // simple-salesforce sends exp as a string of seconds; Salesforce takes it.
            let stringExpiry = Self.claims(org, ["exp": String(Int(Date().timeIntervalSince1970) + 180)])
            #expect(try await org.requestToken(form: Self.form(try Self.assertion(keyPem: keys.privateKeyPem, claims: stringExpiry))).status == 200)
        }
    }

    @Test("an emulator configured with a file that is not a certificate does not start")
    func badConfiguredCertificate() async throws {
        let keys = try JWTTestKeys.shared()
        await #expect(throws: EmulatorConfigurationFailure.self) {
            try await SalesforceEmulator.with(EmulatorConfiguration(port: 0, jwtCertificatePem: keys.privateKeyPem)) { _ in }
        }
    }

    @Test("a signature by another key, a tampered token, another alg or a malformed one: invalid assertion")
    func badSignature() async throws {
        try await Self.withOrg { org, keys in
            try await Self.expectRefused(org, try Self.assertion(keyPem: keys.otherPrivateKeyPem, claims: Self.claims(org)), "invalid_grant", "invalid assertion")
            let good = try Self.assertion(keyPem: keys.privateKeyPem, claims: Self.claims(org))
            let pieces = good.split(separator: ".")
            let forged = Self.base64URL(try JSONSerialization.data(withJSONObject: Self.claims(org, ["sub": "admin@acme.com"])))
            try await Self.expectRefused(org, "\(pieces[0]).\(forged).\(pieces[2])", "invalid_grant", "invalid assertion")
            try await Self.expectRefused(
                org, try Self.assertion(keyPem: keys.privateKeyPem, header: ["alg": "HS256"], claims: Self.claims(org)), "invalid_grant", "invalid assertion"
            )
            try await Self.expectRefused(org, "\(pieces[0]).\(pieces[1])", "invalid_grant", "invalid assertion")
            try await Self.expectRefused(org, "not-a-jwt", "invalid_grant", "invalid assertion")
        }
    }

    @Test("an issuer that is not the app's Consumer Key: invalid_client_id")
    func wrongIssuer() async throws {
        try await Self.withOrg { org, keys in
            let assertion = try Self.assertion(keyPem: keys.privateKeyPem, claims: Self.claims(org, ["iss": "3MVG9.other"]))
            try await Self.expectRefused(org, assertion, "invalid_client_id", "client identifier invalid")
        }
    }

    @Test("another user, or a user not pre-authorized: user hasn't approved this consumer")
    func notApproved() async throws {
        try await Self.withOrg { org, keys in
            let stranger = try Self.assertion(keyPem: keys.privateKeyPem, claims: Self.claims(org, ["sub": "someone@acme.com"]))
            try await Self.expectRefused(org, stranger, "invalid_grant", "user hasn't approved this consumer")
            let admin = EmulatorAdminClient(baseURL: org.baseURL)
            try await admin.setConnectedApp(preAuthorized: false)
            let valid = try Self.assertion(keyPem: keys.privateKeyPem, claims: Self.claims(org))
            try await Self.expectRefused(org, valid, "invalid_grant", "user hasn't approved this consumer")
            try await admin.setConnectedApp(preAuthorized: true)
            #expect(try await org.requestToken(form: Self.form(valid)).status == 200)
        }
    }

    @Test("an audience the org does not accept: audience is invalid; one the admin adds is accepted")
    func wrongAudience() async throws {
        try await Self.withOrg { org, keys in
            let production = try Self.assertion(keyPem: keys.privateKeyPem, claims: Self.claims(org, ["aud": "https://login.salesforce.com"]))
            try await Self.expectRefused(org, production, "invalid_grant", "audience is invalid")
            try await Self.expectRefused(
                org, try Self.assertion(keyPem: keys.privateKeyPem, claims: Self.claims(org, ["aud": NSNull()])), "invalid_grant", "audience is invalid"
            )
            try await EmulatorAdminClient(baseURL: org.baseURL).setConnectedApp(audiences: ["https://login.salesforce.com"])
            #expect(try await org.requestToken(form: Self.form(production)).status == 200)
            let settings = try await org.admin(.GET, "/connected-app").object
            #expect(settings["acceptedAudiences"] as? [String] == [org.baseURL, "https://login.salesforce.com"])
        }
    }

    @Test("exp in milliseconds, in the past, too far ahead or missing: expired authorization code")
    func expiry() async throws {
        try await Self.withOrg { org, keys in
            let now = Date().timeIntervalSince1970
            for exp in [Int64(now * 1000) + 180_000, Int64(now) - 5, Int64(now) + 3600] {
                let assertion = try Self.assertion(keyPem: keys.privateKeyPem, claims: Self.claims(org, ["exp": exp]))
                try await Self.expectRefused(org, assertion, "invalid_grant", "expired authorization code")
            }
            let missing = try Self.assertion(keyPem: keys.privateKeyPem, claims: Self.claims(org, ["exp": NSNull()]))
            try await Self.expectRefused(org, missing, "invalid_grant", "expired authorization code")
        }
    }

    @Test("no certificate uploaded: invalid assertion until one is; a certificate that is not one is refused")
    func certificateUpload() async throws {
        try await Self.withOrg(certificate: false) { org, keys in
            let assertion = try Self.assertion(keyPem: keys.privateKeyPem, claims: Self.claims(org))
            try await Self.expectRefused(org, assertion, "invalid_grant", "invalid assertion")
            let admin = EmulatorAdminClient(baseURL: org.baseURL)
            await #expect(throws: (any Error).self) { try await admin.setJWTCertificate(keys.privateKeyPem) }
            try await admin.setJWTCertificate(keys.otherCertificatePem)
            try await Self.expectRefused(org, assertion, "invalid_grant", "invalid assertion")
            try await admin.setJWTCertificate(keys.certificatePem)
            #expect(try await org.requestToken(form: Self.form(assertion)).status == 200)
            try await admin.removeJWTCertificate()
            try await Self.expectRefused(org, assertion, "invalid_grant", "invalid assertion")
        }
    }

    @Test("the token endpoint's faults apply to the JWT grant too")
    func ipRestricted() async throws {
        try await Self.withOrg { org, keys in
            try await org.setFaults(["ipRestricted": true])
            let assertion = try Self.assertion(keyPem: keys.privateKeyPem, claims: Self.claims(org))
            try await Self.expectRefused(org, assertion, "invalid_grant", "ip restricted")
        }
    }
}
