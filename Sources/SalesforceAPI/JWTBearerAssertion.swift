import Foundation
import _CryptoExtras

/// The signed assertion of the OAuth 2.0 JWT bearer flow (RFC 7523) as Salesforce takes it:
/// header `{"alg":"RS256"}`, claims `iss` (the app's Consumer Key), `sub` (the username), `aud`
/// (the login server) and `exp` (seconds since 1970, ``lifetime`` from now), signed with
/// RSASSA-PKCS1-v1_5 over SHA-256 by swift-crypto. A new one is made for every token request.
///
/// Holds the private key: never log it, nor the assertion it makes.
public struct JWTBearerAssertion: Sendable {
    /// How long an assertion is valid: Salesforce takes an `exp` at most a few minutes ahead.
    public static let lifetime: TimeInterval = 180
    /// The smallest RSA key accepted (swift-crypto and Salesforce alike).
    public static let minimumKeyBits = 2048
    /// The OAuth `grant_type` of the flow.
    public static let grantType = "urn:ietf:params:oauth:grant-type:jwt-bearer"

    public let issuer: String
    public let subject: String
    public let audience: String
    private let key: _RSA.Signing.PrivateKey

    /// Reads the private key; throws `INVALID_PRIVATE_KEY` with what is wrong (never the key).
    public init(clientId: String, username: String, privateKeyPem: String, audience: String) throws(SalesforceError) {
        self.issuer = clientId
        self.subject = username
        self.audience = audience
        self.key = try Self.signingKey(privateKeyPem)
    }

    /// The compact JWS `header.claims.signature`, every part base64url without padding.
    public func token(now: Date) throws(SalesforceError) -> String {
        let expiry = Int64((now.timeIntervalSince1970 + Self.lifetime).rounded(.down))
        let header = #"{"alg":"RS256"}"#
        let claims = "{" + [
            "\"iss\":\(Self.jsonString(self.issuer))",
            "\"sub\":\(Self.jsonString(self.subject))",
            "\"aud\":\(Self.jsonString(self.audience))",
            "\"exp\":\(expiry)",
        ].joined(separator: ",") + "}"
        let signingInput = Self.base64URL(Data(header.utf8)) + "." + Self.base64URL(Data(claims.utf8))
        let signature: _RSA.Signing.RSASignature
        do {
            signature = try self.key.signature(for: Data(signingInput.utf8), padding: .insecurePKCS1v1_5)
        } catch {
            throw SalesforceError.configuration(
                code: "INVALID_PRIVATE_KEY", message: "the private key could not sign the JWT assertion",
                hint: "give the connection a new RSA private key (PEM) and upload its certificate to the app"
            )
        }
        return signingInput + "." + Self.base64URL(signature.rawRepresentation)
    }

    /// What is wrong with a private key for this flow, said for a person (never quoting the key);
    /// nil when it is an unencrypted RSA private key of at least 2048 bits.
    public static func keyProblem(_ pem: String) -> String? {
        do {
            _ = try Self.signingKey(pem)
            return nil
        } catch {
            return error.hint.map { "\(error.message): \($0)" } ?? error.message
        }
    }

    /// The audience Salesforce expects when none is configured: `https://test.salesforce.com` for a
    /// sandbox login host, the login URL itself on loopback (an emulator), otherwise
    /// `https://login.salesforce.com`. `loginURL` is the validated login URL.
    ///
    /// A sandbox is `test.salesforce.com`, any `*.sandbox.my.salesforce.com` (enhanced domains),
    /// or a My Domain whose first label holds `--` (`acme--uat.my.salesforce.com`, the form before
    /// enhanced domains, and a `customDomain` such as `acme--uat`). Production My Domains take
    /// `https://login.salesforce.com`.
    public static func defaultAudience(loginURL: String) -> String {
        guard let components = URLComponents(string: loginURL), let host = components.host?.lowercased() else {
            return "https://login.salesforce.com"
        }
        if LoginURLRules.isLoopback(host: host) { return loginURL }
        if host == "test.salesforce.com" || host.hasSuffix(".sandbox.my.salesforce.com") {
            return "https://test.salesforce.com"
        }
        if host.hasSuffix(".my.salesforce.com"), let label = host.split(separator: ".").first, label.contains("--") {
            return "https://test.salesforce.com"
        }
        return "https://login.salesforce.com"
    }

    // MARK: the key

    static func signingKey(_ pem: String) throws(SalesforceError) -> _RSA.Signing.PrivateKey {
        let text = pem.trimmingCharacters(in: .whitespacesAndNewlines)
        func refused(_ message: String, _ hint: String) -> SalesforceError {
            .configuration(code: "INVALID_PRIVATE_KEY", message: message, hint: hint)
        }
        if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") || text.contains("Proc-Type: 4,ENCRYPTED") {
            throw refused("the private key is encrypted", "decrypt it first: openssl pkey -in sfdest-jwt.key -out sfdest-jwt.pem")
        }
        if text.contains("-----BEGIN CERTIFICATE-----") || text.contains("-----BEGIN PUBLIC KEY-----") {
            throw refused(
                "this is a certificate or public key, not the private key",
                "upload the certificate (.crt) to the app in Salesforce and give sfdest the private key (.key) it was made from"
            )
        }
        if text.contains("-----BEGIN EC PRIVATE KEY-----") || text.contains("-----BEGIN OPENSSH PRIVATE KEY-----") {
            throw refused(
                "not an RSA private key", "Salesforce signs with RS256: make an RSA key with openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048"
            )
        }
        let begins = text.hasPrefix("-----BEGIN PRIVATE KEY-----") || text.hasPrefix("-----BEGIN RSA PRIVATE KEY-----")
        let ends = text.hasSuffix("-----END PRIVATE KEY-----") || text.hasSuffix("-----END RSA PRIVATE KEY-----")
        guard begins, ends else {
            throw refused("not a PEM RSA private key", "paste the whole file including the BEGIN and END lines (in JSON, newlines as \\n)")
        }
        if text.hasPrefix("-----BEGIN PRIVATE KEY-----"), let der = Self.pemBody(text), !Self.namesRSA(der) {
            throw refused(
                "not an RSA private key (an EC or Ed25519 key?)",
                "Salesforce signs with RS256: make an RSA key with openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048"
            )
        }
        let key: _RSA.Signing.PrivateKey
        do {
            key = try _RSA.Signing.PrivateKey(unsafePEMRepresentation: text)
        } catch {
            throw refused(
                "not a PEM RSA private key (it does not parse, or is not RSA)",
                "paste the whole file including the BEGIN and END lines, or make a new key with openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048"
            )
        }
        guard key.keySizeInBits >= Self.minimumKeyBits else {
            throw refused(
                "the RSA key has \(key.keySizeInBits) bits, fewer than \(Self.minimumKeyBits)",
                "make a 2048-bit key: openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048"
            )
        }
        return key
    }

    /// The DER bytes between a PEM's BEGIN and END lines, nil when they are not base64.
    static func pemBody(_ pem: String) -> Data? {
        let body = pem.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----") }.joined()
        return Data(base64Encoded: body)
    }

    /// Whether a PKCS#8 key names the rsaEncryption algorithm (OID 1.2.840.113549.1.1.1).
    static func namesRSA(_ der: Data) -> Bool {
        let rsaEncryption: [UInt8] = [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01]
        return der.range(of: Data(rsaEncryption)) != nil
    }

    // MARK: encoding

    /// Base64url (RFC 4648 §5) without padding.
    static func base64URL(_ data: Data) -> String {
        var text = data.base64EncodedString()
        text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    /// A JSON string literal.
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let control where control.value < 0x20:
                out += String(format: "\\u%04x", control.value)
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
