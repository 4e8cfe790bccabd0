import Foundation
import SfdestTestSupport
import Testing
import _CryptoExtras

@testable import SalesforceAPI

/// The JWT bearer flow's assertion: RS256 by swift-crypto, the claims Salesforce reads, `exp` in seconds.
@Suite("JWT bearer assertion")
struct JWTBearerAssertionTests {
    /// The three parts of a compact JWS, decoded.
    struct Parts {
        let header: String
        let claims: [String: Any]
        let claimsText: String
        let signingInput: String
        let signature: Data
    }

    static func base64URLDecode(_ text: Substring) throws -> Data {
        #expect(!text.contains("="), "base64url without padding")
        #expect(!text.contains("+") && !text.contains("/"), "base64url alphabet")
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64.append("=") }
        return try #require(Data(base64Encoded: base64))
    }

    static func parts(_ token: String) throws -> Parts {
        let pieces = token.split(separator: ".", omittingEmptySubsequences: false)
        try #require(pieces.count == 3)
        let claimsData = try Self.base64URLDecode(pieces[1])
        return Parts(
            header: String(decoding: try Self.base64URLDecode(pieces[0]), as: UTF8.self),
            claims: try #require(try JSONSerialization.jsonObject(with: claimsData) as? [String: Any]),
            claimsText: String(decoding: claimsData, as: UTF8.self),
            signingInput: "\(pieces[0]).\(pieces[1])",
            signature: try Self.base64URLDecode(pieces[2])
        )
    }

    @Test("the signature verifies with the key's public key (RS256: PKCS#1 v1.5, SHA-256); header and claims are exact")
    func signsAndVerifies() throws {
        let keys = try JWTTestKeys.shared()
        let assertion = try JWTBearerAssertion(
            clientId: "3MVG9.key", username: "ops@acme.com", privateKeyPem: keys.privateKeyPem, audience: "https://login.salesforce.com"
        )
        let now = Date(timeIntervalSince1970: 1_800_000_000.7)
        let parts = try Self.parts(try assertion.token(now: now))
        #expect(parts.header == #"{"alg":"RS256"}"#)
        #expect(parts.claimsText == #"{"iss":"3MVG9.key","sub":"ops@acme.com","aud":"https://login.salesforce.com","exp":1800000180}"#)
        let publicKey = try _RSA.Signing.PrivateKey(pemRepresentation: keys.privateKeyPem).publicKey
        let signature = _RSA.Signing.RSASignature(rawRepresentation: parts.signature)
        #expect(publicKey.isValidSignature(signature, for: Data(parts.signingInput.utf8), padding: .insecurePKCS1v1_5))
        // Not PSS, and not over anything else.
        #expect(!publicKey.isValidSignature(signature, for: Data(parts.signingInput.utf8), padding: .PSS))
        #expect(!publicKey.isValidSignature(signature, for: Data((parts.signingInput + "x").utf8), padding: .insecurePKCS1v1_5))
        let other = try _RSA.Signing.PrivateKey(pemRepresentation: keys.otherPrivateKeyPem).publicKey
        #expect(!other.isValidSignature(signature, for: Data(parts.signingInput.utf8), padding: .insecurePKCS1v1_5))
    }

    @Test("exp is in seconds, about three minutes ahead")
    func expiryInSeconds() throws {
        let keys = try JWTTestKeys.shared()
        let assertion = try JWTBearerAssertion(clientId: "c", username: "u", privateKeyPem: keys.privateKeyPem, audience: "https://test.salesforce.com")
        let now = Date().timeIntervalSince1970
        let parts = try Self.parts(try assertion.token(now: Date()))
        let expiry = try #require(parts.claims["exp"] as? Int)
        #expect(expiry >= Int(now) + 170 && expiry <= Int(now) + 190)
    }

    @Test("PKCS#8 (BEGIN PRIVATE KEY) and PKCS#1 (BEGIN RSA PRIVATE KEY) keys both sign, with the same signature")
    func bothKeyForms() throws {
        let keys = try JWTTestKeys.shared()
        #expect(keys.pkcs1PrivateKeyPem.hasPrefix("-----BEGIN RSA PRIVATE KEY-----"))
        #expect(keys.privateKeyPem.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        let now = Date()
        let tokens = try [keys.privateKeyPem, keys.pkcs1PrivateKeyPem].map { pem in
            try JWTBearerAssertion(clientId: "c", username: "u", privateKeyPem: pem, audience: "https://login.salesforce.com").token(now: now)
        }
        // PKCS#1 v1.5 signatures are deterministic: the same key gives the same token.
        #expect(tokens[0] == tokens[1])
        #expect(JWTBearerAssertion.keyProblem(keys.pkcs1PrivateKeyPem) == nil)
        #expect(JWTBearerAssertion.keyProblem(keys.privateKeyPem) == nil)
    }

    @Test("keys the flow cannot use are refused with what to do, never quoting the key")
    func refusedKeys() throws {
        let keys = try JWTTestKeys.shared()
        let body = keys.privateKeyPem.split(separator: "\n")[1]
        let cases: [(String, String)] = [
            (keys.smallPrivateKeyPem, "1024 bits"),
            (keys.encryptedPrivateKeyPem, "openssl pkey -in"),
            (keys.ecPrivateKeyPem, "not an RSA private key"),
            (keys.certificatePem, "certificate"),
            (String(keys.privateKeyPem.dropFirst(28)), "BEGIN and END lines"),
            (keys.privateKeyPem.replacingOccurrences(of: String(body), with: "AAAA" + body.dropFirst(4)), "does not parse"),
            ("not a key", "BEGIN and END lines"),
        ]
        for (pem, expected) in cases {
            let problem = try #require(JWTBearerAssertion.keyProblem(pem), "refused: \(expected)")
            #expect(problem.contains(expected), "\(problem)")
            #expect(!problem.contains(String(body.prefix(16))))
            #expect(throws: SalesforceError.self) {
                try JWTBearerAssertion(clientId: "c", username: "u", privateKeyPem: pem, audience: "https://login.salesforce.com")
            }
        }
    }

    @Test("the default audience: test.salesforce.com for sandboxes, the URL itself on loopback, else login.salesforce.com", arguments: [
        ("https://login.salesforce.com", "https://login.salesforce.com"),
        ("https://test.salesforce.com", "https://test.salesforce.com"),
        ("https://acme.my.salesforce.com", "https://login.salesforce.com"),
        ("https://acme--uat.sandbox.my.salesforce.com", "https://test.salesforce.com"),
        ("https://acme--uat.my.salesforce.com", "https://test.salesforce.com"),
        ("https://ACME--UAT.Sandbox.My.Salesforce.com", "https://test.salesforce.com"),
        ("https://acme-dev-ed.develop.my.salesforce.com", "https://login.salesforce.com"),
        ("http://127.0.0.1:8090", "http://127.0.0.1:8090"),
        ("http://localhost:9000/path", "http://localhost:9000/path"),
    ])
    func defaultAudience(loginURL: String, audience: String) {
        #expect(JWTBearerAssertion.defaultAudience(loginURL: loginURL) == audience)
    }

    @Test("the audience given wins over the default; other flows have none")
    func configuredAudience() {
        let jwt = SalesforceCredentials.jwtBearer(clientId: "c", username: "u", privateKeyPem: "", audience: "https://acme.my.site.com/customers")
        #expect(jwt.jwtAudience(loginURL: "https://login.salesforce.com") == "https://acme.my.site.com/customers")
        let defaulted = SalesforceCredentials.jwtBearer(clientId: "c", username: "u", privateKeyPem: "", audience: nil)
        #expect(defaulted.jwtAudience(loginURL: "https://test.salesforce.com") == "https://test.salesforce.com")
        #expect(SalesforceCredentials.clientCredentials(clientId: "c", clientSecret: "s").jwtAudience(loginURL: "https://x.my.salesforce.com") == nil)
    }

    @Test("the token request form is the jwt-bearer grant with a new assertion for each call")
    func formBody() throws {
        let keys = try JWTTestKeys.shared()
        let credentials = SalesforceCredentials.jwtBearer(clientId: "3MVG9", username: "ops@acme.com", privateKeyPem: keys.privateKeyPem, audience: nil)
        let first = try OAuthTokenEndpoint.formBody(for: credentials, loginURL: "https://acme--uat.sandbox.my.salesforce.com", now: Date(timeIntervalSince1970: 1_800_000_000))
        let second = try OAuthTokenEndpoint.formBody(for: credentials, loginURL: "https://acme--uat.sandbox.my.salesforce.com", now: Date(timeIntervalSince1970: 1_800_000_060))
        let prefix = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="
        #expect(first.hasPrefix(prefix))
        #expect(first != second)
        let parts = try Self.parts(String(first.dropFirst(prefix.count)))
        #expect(parts.claims["aud"] as? String == "https://test.salesforce.com")
        #expect(parts.claims["exp"] as? Int == 1_800_000_180)
        #expect(!first.contains("client_secret") && !first.contains("PRIVATE"))
    }

    @Test("Salesforce's JWT refusals get the fix as a hint", arguments: [
        (#"{"error":"invalid_grant","error_description":"user hasn't approved this consumer"}"#, "Admin approved users are pre-authorized"),
        (#"{"error":"invalid_grant","error_description":"audience is invalid"}"#, "the assertion's audience was https://login.salesforce.com"),
        (#"{"error":"invalid_grant","error_description":"expired authorization code"}"#, "NTP"),
        (#"{"error":"invalid_grant","error_description":"invalid assertion"}"#, "Use digital signatures"),
        (#"{"error":"invalid_client_id","error_description":"client identifier invalid"}"#, "Consumer Key"),
        (#"{"error":"OAUTH_APP_ACCESS_DENIED","error_description":"user is not admin approved to access this app"}"#, "pre-authorized"),
        (#"{"error":"invalid_grant","error_description":"ip restricted"}"#, "allow-list"),
    ])
    func hints(body: String, expected: String) throws {
        let error = SalesforceError.fromTokenResponse(
            status: 400, body: Data(body.utf8), grantType: JWTBearerAssertion.grantType, audience: "https://login.salesforce.com"
        )
        #expect(error.kind == .authentication)
        #expect(error.disposition == .permanent)
        let hint = try #require(error.hint)
        #expect(hint.contains(expected), "\(hint)")
    }
}
