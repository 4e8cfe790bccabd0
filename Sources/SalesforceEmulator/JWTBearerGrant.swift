import Foundation
import SfdestJSON
import _CryptoExtras

/// How the org judges a JWT bearer assertion, and Salesforce's words for each refusal, in one place.
///
/// Salesforce answers every refusal 400 `invalid_grant` except an unknown issuer
/// (`invalid_client_id`): a token it cannot read or verify (no certificate uploaded, a signature
/// that does not verify, an `alg` other than RS256) is "invalid assertion"; an `aud` that is not
/// the login server "audience is invalid"; an `exp` in the past, or further ahead than it takes
/// (an `exp` in milliseconds is years ahead), "expired authorization code"; a user who is not
/// the org's, or not pre-authorized for the app, "user hasn't approved this consumer".
enum JWTBearerRules {
    static let grantType = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    /// The furthest ahead an `exp` may be: Salesforce's three minutes plus two of clock leeway.
    static let maximumLifetimeSeconds = 300.0

    static let invalidAssertion = OAuthFailure(error: "invalid_grant", description: "invalid assertion")
    static let audienceInvalid = OAuthFailure(error: "invalid_grant", description: "audience is invalid")
    static let expired = OAuthFailure(error: "invalid_grant", description: "expired authorization code")
    static let notApproved = OAuthFailure(error: "invalid_grant", description: "user hasn't approved this consumer")

    /// Base64url (padding optional) to bytes.
    static func base64URLDecode(_ text: Substring) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64.append("=") }
        return Data(base64Encoded: base64)
    }
}

extension OrgAccess {
    /// Why the org refuses `assertion`, or nil when it accepts it. `baseURL` is the org's own
    /// address (an accepted audience), `now` the wall clock that `exp` is read against.
    func refusal(ofAssertion assertion: String?, baseURL: String, now: Date) -> OAuthFailure? {
        guard let assertion else { return JWTBearerRules.invalidAssertion }
        let parts = assertion.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
              let headerBytes = JWTBearerRules.base64URLDecode(parts[0]),
              let claimsBytes = JWTBearerRules.base64URLDecode(parts[1]),
              let signature = JWTBearerRules.base64URLDecode(parts[2]),
              let header = try? JSONParser.parse(headerBytes), header.objectValue != nil,
              let claims = try? JSONParser.parse(claimsBytes), claims.objectValue != nil
        else { return JWTBearerRules.invalidAssertion }
        guard header["alg"]?.stringValue == "RS256" else { return JWTBearerRules.invalidAssertion }
        guard claims["iss"]?.stringValue == self.credentials.clientId else { return .invalidClientId }
        guard let key = self.connectedApp.certificateKey else { return JWTBearerRules.invalidAssertion }
        let signed = Data("\(parts[0]).\(parts[1])".utf8)
        guard key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: signed, padding: .insecurePKCS1v1_5) else {
            return JWTBearerRules.invalidAssertion
        }
        guard self.connectedApp.accepts(claims["aud"], baseURL: baseURL) else { return JWTBearerRules.audienceInvalid }
        let seconds = now.timeIntervalSince1970
        // A number of seconds; some clients (simple-salesforce) send it as a string of digits.
        guard let expiry = claims["exp"]?.numberValue ?? claims["exp"]?.stringValue.flatMap(Double.init), expiry > seconds, expiry <= seconds + JWTBearerRules.maximumLifetimeSeconds else {
            return JWTBearerRules.expired
        }
        guard claims["sub"]?.stringValue == self.credentials.username, self.connectedApp.preAuthorized else {
            return JWTBearerRules.notApproved
        }
        return nil
    }
}
