import Foundation
import NIOSSL
import SfdestJSON
import _CryptoExtras

/// The connected app's JWT bearer settings: the certificate uploaded with "Use digital
/// signatures", the "Admin approved users are pre-authorized" policy (with the integration user's
/// profile assigned), and the audiences the org accepts besides its own URL.
struct ConnectedApp: Sendable {
    /// The public key of the uploaded certificate; nil until one is uploaded.
    var certificateKey: _RSA.Signing.PublicKey?
    /// Whether the integration user is pre-authorized (its profile or permission set is assigned).
    var preAuthorized = true
    /// Audiences accepted besides the emulator's base URL (e.g. `https://login.salesforce.com` for
    /// a client that cannot be told another).
    var audiences: [String] = []

    /// Whether an assertion's `aud` (a string or an array of strings, RFC 7519) names this org.
    func accepts(_ audience: JSON?, baseURL: String) -> Bool {
        let named: [String]
        if let text = audience?.stringValue {
            named = [text]
        } else if let list = audience?.arrayValue {
            named = list.compactMap(\.stringValue)
        } else {
            return false
        }
        let accepted = [baseURL] + self.audiences
        return named.contains { accepted.contains($0) }
    }

    /// The RSA public key of an X.509 certificate in PEM, as Salesforce reads an upload.
    static func publicKey(certificatePEM: String) throws(AdminFailure) -> _RSA.Signing.PublicKey {
        let spki: [UInt8]
        do {
            let certificate = try NIOSSLCertificate(bytes: Array(certificatePEM.utf8), format: .pem)
            spki = try certificate.extractPublicKey().toSPKIBytes()
        } catch {
            throw .badRequest("not a PEM X.509 certificate (-----BEGIN CERTIFICATE----- ...): upload the .crt made from the key, not the key")
        }
        do {
            return try _RSA.Signing.PublicKey(derRepresentation: spki)
        } catch {
            throw .badRequest("the certificate's key is not an RSA key of at least 2048 bits")
        }
    }

    func json(baseURL: String) -> JSON {
        .object([
            ("certificate", .bool(self.certificateKey != nil)),
            ("preAuthorized", .bool(self.preAuthorized)),
            ("audiences", .array(self.audiences.map(JSON.string))),
            ("acceptedAudiences", .array(([baseURL] + self.audiences).map(JSON.string))),
        ])
    }

    /// The settings with a partial update (`preAuthorized`, `audiences`) applied.
    func applying(_ patch: [(String, JSON)]) throws(AdminFailure) -> ConnectedApp {
        var app = self
        for (key, value) in patch {
            switch key {
            case "preAuthorized":
                guard let flag = value.boolValue else { throw .badRequest("'preAuthorized' must be true or false") }
                app.preAuthorized = flag
            case "audiences":
                guard let list = value.arrayValue, list.allSatisfy({ $0.stringValue != nil }) else {
                    throw .badRequest("'audiences' must be an array of strings")
                }
                app.audiences = list.compactMap(\.stringValue)
            default:
                throw .badRequest("unknown key '\(key)'; known: preAuthorized, audiences")
            }
        }
        return app
    }
}
