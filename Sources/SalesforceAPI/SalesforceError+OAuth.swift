import Foundation

/// Reading a refused token request (`{"error","error_description"}`) into a classified error.
extension SalesforceError {
    private struct OAuthErrorBody: Decodable {
        var error: String
        var error_description: String?
    }

    /// Classifies a failed answer of the token endpoint. `grantType` selects the hint; `audience`
    /// is the JWT bearer assertion's `aud`, named in the hint when Salesforce refused it.
    public static func fromTokenResponse(status: Int, body: Data, grantType: String, audience: String? = nil) -> SalesforceError {
        guard let answer = try? JSONDecoder().decode(OAuthErrorBody.self, from: body) else {
            let transient = status >= 500 || status == 408 || status == 429
            return SalesforceError(
                kind: .authentication, disposition: transient ? .retryLater : .permanent, code: "HTTP_\(status)",
                message: Self.snippet(of: body, status: status), httpStatus: status,
                hint: transient ? "the login service is unavailable: retry later" : "check the login URL: it did not answer like a Salesforce token endpoint"
            )
        }
        let description = answer.error_description ?? ""
        return SalesforceError(
            kind: .authentication, disposition: status >= 500 ? .retryLater : .permanent,
            code: answer.error, message: description, httpStatus: status,
            hint: Self.tokenHint(error: answer.error, description: description, grantType: grantType, audience: audience)
        )
    }

    /// True for the answer Salesforce gives while another token request for the same user is running.
    var isTokenRequestAlreadyProcessing: Bool {
        self.kind == .authentication && self.code == "invalid_grant"
            && self.message.lowercased().contains("already being processed")
    }

    /// A sentence a person can act on for each known token error.
    static func tokenHint(error: String, description: String, grantType: String, audience: String? = nil) -> String {
        let text = description.lowercased()
        let clientCredentials = grantType == "client_credentials"
        if text.contains("ip restricted") {
            return "Salesforce refused this service's IP address: allow-list the address this service connects from in the org (Setup > Network Access), or relax the connected app's IP restrictions (IP Relaxation)"
        }
        if grantType == JWTBearerAssertion.grantType, let hint = Self.jwtBearerHint(error: error, text: text, audience: audience) {
            return hint
        }
        switch error {
        case "invalid_client_id":
            return "Salesforce does not know this client id: check the connected app's Consumer Key"
        case "invalid_client":
            return "Salesforce refused the client secret: check the connected app's Consumer Secret"
        case "unsupported_grant_type":
            return clientCredentials
                ? "the client credentials flow is not enabled: enable it on the connected app (with a Run As user) and log in at the org's My Domain URL, not login.salesforce.com"
                : "this OAuth flow is not enabled for the connected app or the org: enable it, or use the client credentials flow"
        default:
            break
        }
        if text.contains("authentication failure") {
            return clientCredentials
                ? "check the Consumer Key and Secret, that the connected app enables the client credentials flow with a Run As user, and that you log in at the org's My Domain URL"
                : "check the username, the password with the security token appended, and that the org allows the OAuth username-password flow (Salesforce blocks it by default in new orgs; consider the client credentials flow)"
        }
        if text.contains("no client credentials user") {
            return "set a Run As user in the connected app's client credentials flow settings"
        }
        if text.contains("expired") {
            return "the credentials or token expired: authorise the connection again"
        }
        if text.contains("inactive") || text.contains("locked") {
            return "the integration user is inactive or locked out: ask a Salesforce admin to reactivate or unlock it"
        }
        if text.contains("not approved") || text.contains("hasn't approved") {
            return "the connected app is not approved for this user: pre-authorise it for the user's profile or permission set"
        }
        return "Salesforce refused the credentials: check the connection's login URL, Consumer Key and Secret, and user"
    }

    /// What to do about the JWT bearer flow's refusals (Salesforce's `error_description` words).
    private static func jwtBearerHint(error: String, text: String, audience: String?) -> String? {
        if error == "invalid_client_id" {
            return "Salesforce does not know the assertion's issuer (iss): set auth.clientId to the External Client App's Consumer Key"
        }
        if text.contains("hasn't approved this consumer") || text.contains("not admin approved") || error == "OAUTH_APP_ACCESS_DENIED" || error == "invalid_app_access" {
            return "the user is not pre-authorized for the app: in the External Client App's policies set Permitted Users to \"Admin approved users are pre-authorized\" and add the integration user's profile or permission set (and check auth.username is that user)"
        }
        if text.contains("audience is invalid") {
            let sent = audience.map { "the assertion's audience was \($0)" } ?? "the assertion's audience was refused"
            return "\(sent): a sandbox takes https://test.salesforce.com, production and Developer Edition orgs https://login.salesforce.com (an Experience Cloud site its own URL); set auth.audience to the right one"
        }
        if text.contains("expired authorization code") {
            return "Salesforce read the assertion as expired: this machine's clock is probably off; sync it with NTP (timedatectl status, chronyc tracking) and try again"
        }
        if text.contains("invalid assertion") {
            return "Salesforce could not verify the assertion: upload the certificate made from this private key to the app (\"Use digital signatures\"), and check this machine's clock (NTP)"
        }
        return nil
    }
}
