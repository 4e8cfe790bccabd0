import Foundation
import SfdestJSON

/// A refused token request, answered 400 as `{"error": ..., "error_description": ...}`.
struct OAuthFailure: Error, Sendable, Equatable {
    let error: String
    let description: String

    static let authenticationFailure = OAuthFailure(error: "invalid_grant", description: "authentication failure")
    static let invalidClientId = OAuthFailure(error: "invalid_client_id", description: "client identifier invalid")
    static let invalidClient = OAuthFailure(error: "invalid_client", description: "invalid client credentials")
    static let unsupportedGrant = OAuthFailure(error: "unsupported_grant_type", description: "grant type not supported")
    static let ipRestricted = OAuthFailure(error: "invalid_grant", description: "ip restricted")

    var json: JSON {
        .object([("error", .string(self.error)), ("error_description", .string(self.description))])
    }
}

extension OrgAccess {
    /// Runs the OAuth 2.0 password, client-credentials or JWT bearer grant; on success returns a
    /// new access token.
    ///
    /// - Parameters:
    ///   - form: the decoded `application/x-www-form-urlencoded` body.
    ///   - basic: client id and secret from an HTTP Basic `Authorization` header, if any.
    ///   - tokenPrefix: the org Id's 15 characters, which real access tokens start with.
    ///   - baseURL: the org's own address (an audience JWT bearer assertions may name).
    ///   - wallClock: the time a JWT bearer assertion's `exp` is read against.
    ///   - struck: set to the fault that refused the grant, if one did.
    mutating func grant(
        form: [String: String], basic: (id: String, secret: String)?, tokenPrefix: String, now: ContinuousClock.Instant,
        baseURL: String = "", wallClock: Date = Date(), struck: inout FaultKind?
    ) -> Result<String, OAuthFailure> {
        let clientId = form["client_id"] ?? basic?.id
        let clientSecret = form["client_secret"] ?? basic?.secret
        switch form["grant_type"] {
        case "password":
            guard clientId == self.credentials.clientId else { return .failure(.invalidClientId) }
            guard clientSecret == self.credentials.clientSecret else { return .failure(.invalidClient) }
            guard form["username"] == self.credentials.username, form["password"] == self.credentials.password
            else { return .failure(.authenticationFailure) }
            if self.faults.passwordFlowDisabled {
                struck = .passwordFlowDisabled
                return .failure(.authenticationFailure)
            }
        case "client_credentials":
            guard clientId == self.credentials.clientId else { return .failure(.invalidClientId) }
            guard clientSecret == self.credentials.clientSecret else { return .failure(.invalidClient) }
        case JWTBearerRules.grantType:
            if let refusal = self.refusal(ofAssertion: form["assertion"], baseURL: baseURL, now: wallClock) {
                return .failure(refusal)
            }
        default:
            return .failure(.unsupportedGrant)
        }
        if self.faults.ipRestricted {
            struck = .ipRestricted
            return .failure(.ipRestricted)
        }
        let token = "\(tokenPrefix)!AQ4AQ" + RecordID.randomCharacters(48) + "." + RecordID.randomCharacters(48)
        self.sessions[token] = now
        self.issuedTokens.append(token)
        if self.issuedTokens.count > 10_000 { self.issuedTokens.removeFirst(self.issuedTokens.count - 10_000) }
        return .success(token)
    }
}
