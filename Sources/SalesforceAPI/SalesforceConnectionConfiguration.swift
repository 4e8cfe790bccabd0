import Foundation
import SfdestBasics

/// Where the client logs in: the org's My Domain prefix or an explicit login URL.
public enum SalesforceLoginHost: Sendable, Equatable {
    /// The My Domain prefix (`acme-dev-ed`), which becomes `https://acme-dev-ed.my.salesforce.com`.
    case customDomain(String)
    /// A full login URL such as `https://login.salesforce.com` or `https://test.salesforce.com`.
    /// `http://` is accepted only for loopback hosts (an emulator on this machine).
    case loginURL(String)

    /// The validated base URL (`scheme://host[:port]`, no trailing slash) that token requests go
    /// to; a login URL's host must be one `policy` allows (a My Domain always is).
    public func validatedURL(policy: OutboundHostPolicy = .salesforceAndLoopback) throws(SalesforceError) -> String {
        switch self {
        case .customDomain(let prefix):
            return try LoginURLRules.customDomainURL(prefix)
        case .loginURL(let text):
            return try LoginURLRules.baseURL(text, role: "login URL", policy: policy)
        }
    }
}

/// How the client proves who it is to the token endpoint.
public enum SalesforceCredentials: Sendable {
    /// OAuth username-password flow. `password` may already end with the security token; when
    /// `securityToken` is given, the client appends it to `password`.
    case password(username: String, password: String, securityToken: String?, clientId: String, clientSecret: String)
    /// OAuth client credentials flow (the connected app runs as its configured user; My Domain only).
    case clientCredentials(clientId: String, clientSecret: String)
    /// OAuth 2.0 JWT bearer flow: an RS256 assertion signed with `privateKeyPem` (PKCS#8 or
    /// PKCS#1 PEM, RSA, at least 2048 bits) whose certificate is uploaded to the app. `audience`
    /// nil means ``JWTBearerAssertion/defaultAudience(loginURL:)``. No refresh token: a new
    /// assertion is signed for every token request.
    case jwtBearer(clientId: String, username: String, privateKeyPem: String, audience: String?)

    /// The OAuth `grant_type` this flow sends.
    public var grantType: String {
        switch self {
        case .password: "password"
        case .clientCredentials: "client_credentials"
        case .jwtBearer: JWTBearerAssertion.grantType
        }
    }

    /// The audience the JWT bearer flow's assertion carries for a validated login URL: the
    /// configured one, else the default rule; nil for the other flows.
    public func jwtAudience(loginURL: String) -> String? {
        guard case .jwtBearer(_, _, _, let audience) = self else { return nil }
        return audience ?? JWTBearerAssertion.defaultAudience(loginURL: loginURL)
    }
}

/// Everything one connection to one org needs. Holds secrets: never log it.
public struct SalesforceConnectionConfiguration: Sendable {
    /// The API version every REST call uses unless configured otherwise.
    public static let defaultAPIVersion = "v66.0"

    public var login: SalesforceLoginHost
    public var credentials: SalesforceCredentials
    /// `v66.0` or `66.0`; normalised to the `vNN.N` form by ``normalizedAPIVersion()``.
    public var apiVersion: String
    /// Upper bound for one HTTP exchange, body included.
    public var requestTimeout: Duration
    /// Upper bound for one response body; a larger answer fails with `RESPONSE_TOO_LARGE`.
    public var maxResponseBytes: Int
    /// Which login and instance hosts the client may send credentials and tokens to. The default
    /// (Salesforce's domains and loopback) is a service's on 127.0.0.1; the runtime passes its own.
    public var hostPolicy: OutboundHostPolicy
    /// Where processes sharing one store share this connection's session (nil: this client keeps
    /// its own, as a single process does).
    public var sessionSharing: (any SessionSharing)?

    public init(
        login: SalesforceLoginHost,
        credentials: SalesforceCredentials,
        apiVersion: String = SalesforceConnectionConfiguration.defaultAPIVersion,
        requestTimeout: Duration = .seconds(30),
        maxResponseBytes: Int = 32 * 1024 * 1024,
        hostPolicy: OutboundHostPolicy = .salesforceAndLoopback
    ) {
        self.hostPolicy = hostPolicy
        self.login = login
        self.credentials = credentials
        self.apiVersion = apiVersion
        self.requestTimeout = requestTimeout
        self.maxResponseBytes = maxResponseBytes
    }

    /// The API version as it appears in paths (`v66.0`), or a configuration error.
    public func normalizedAPIVersion() throws(SalesforceError) -> String {
        let trimmed = self.apiVersion.trimmingCharacters(in: .whitespaces)
        let bare = trimmed.hasPrefix("v") || trimmed.hasPrefix("V") ? String(trimmed.dropFirst()) : trimmed
        let parts = bare.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2,
              let major = Int(parts[0]), major > 0, parts[0].allSatisfy(\.isASCII),
              parts[1].count == 1, parts[1].allSatisfy({ $0.isASCII && $0.isNumber })
        else {
            throw SalesforceError.configuration(
                code: "INVALID_API_VERSION",
                message: "API version '\(self.apiVersion)' is not of the form v66.0 or 66.0",
                hint: "use a current version such as \(Self.defaultAPIVersion)"
            )
        }
        return "v\(major).\(parts[1])"
    }
}
