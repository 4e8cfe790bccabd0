import Activation
import Foundation
import SalesforceAPI
import SfdestBasics
import Store

/// The body of `POST /v1/connections` and `PUT /v1/connections/{id}`, every field optional so
/// that every missing one is reported at once.
struct ConnectionRequest: Decodable, Sendable {
    struct Auth: Decodable, Sendable {
        var type: String?
        var username: String?
        var password: String?
        var securityToken: String?
        var clientId: String?
        var clientSecret: String?
        var privateKeyPem: String?
        var audience: String?

        enum CodingKeys: String, CodingKey { case type, username, password, securityToken, clientId, clientSecret, privateKeyPem, audience }

        init() {}

        init(from decoder: any Decoder) throws {
            let container = try decoder.lenientContainer(keyedBy: CodingKeys.self)
            self.type = try container.lenient(String.self, forKey: .type, decoder: decoder)
            self.username = try container.lenient(String.self, forKey: .username, decoder: decoder)
            self.password = try container.lenient(String.self, forKey: .password, decoder: decoder)
            self.securityToken = try container.lenient(String.self, forKey: .securityToken, decoder: decoder)
            self.clientId = try container.lenient(String.self, forKey: .clientId, decoder: decoder)
            self.clientSecret = try container.lenient(String.self, forKey: .clientSecret, decoder: decoder)
            self.privateKeyPem = try container.lenient(String.self, forKey: .privateKeyPem, decoder: decoder)
            self.audience = try container.lenient(String.self, forKey: .audience, decoder: decoder)
        }
    }

    var name: String?
    var customDomain: String?
    var loginUrl: String?
    var apiVersion: String?
    var auth: Auth?

    enum CodingKeys: String, CodingKey { case name, customDomain, loginUrl, apiVersion, auth }

    init(from decoder: any Decoder) throws {
        let container = try decoder.lenientContainer(keyedBy: CodingKeys.self)
        self.name = try container.lenient(String.self, forKey: .name, decoder: decoder)
        self.customDomain = try container.lenient(String.self, forKey: .customDomain, decoder: decoder)
        self.loginUrl = try container.lenient(String.self, forKey: .loginUrl, decoder: decoder)
        self.apiVersion = try container.lenient(String.self, forKey: .apiVersion, decoder: decoder)
        self.auth = try container.lenient(Auth.self, forKey: .auth, decoder: decoder)
    }

    /// The connection this request describes, not yet authenticated, or every problem with it.
    ///
    /// On `PUT`, `previous` is the stored connection: a secret left out is kept from it when the
    /// auth type is unchanged (the API never returns secrets, so a client cannot send them back).
    /// Leaving out `password` keeps the stored password and security token together. But when the
    /// login host (or custom domain), the username or the client id changes, nothing is kept:
    /// stored secrets would otherwise be sent to a host (or on behalf of an identity) that whoever
    /// holds an API key chose, without knowing them. Every secret must then be given again.
    ///
    /// Problems with where credentials would go (a host the policy refuses, secrets left out on
    /// such a change) and with what the JWT bearer flow signs with (the private key, the
    /// audience) answer `validation_failed`; other problems `invalid_request`.
    func connection(id: String, now: Date, previous: Connection?, policy: OutboundHostPolicy) throws(APIError) -> Connection {
        var problems: [ConfigurationProblem] = []
        var safetyProblems: [ConfigurationProblem] = []
        let name = Self.text(self.name)
        if name == nil {
            problems.append(.init(field: "name", message: "required: a name to recognise the connection by, such as Acme production"))
        }
        let login = self.login(policy: policy, problems: &problems, safetyProblems: &safetyProblems)
        let apiVersion = self.apiVersion(problems: &problems)
        let auth = self.auth ?? Auth()
        if self.auth == nil {
            problems.append(.init(field: "auth", message: "required: {\"type\": \"password\", \"clientCredentials\" or \"jwtBearer\", \"clientId\", ...}"))
        }
        let type = Self.text(auth.type)
        let change = previous.flatMap { self.identityChange(from: $0, to: login?.url, policy: policy) }
        let kept = previous?.authType.rawValue == type && change == nil ? previous?.secrets : nil
        /// A secret left out: required again after an identity change, else simply required.
        func missing(_ field: String, _ what: String) {
            if let change, previous?.authType.rawValue == type {
                safetyProblems.append(.init(field: field, message: "required again: \(change), so the stored secrets are not reused; give \(what) in this request"))
            } else {
                problems.append(.init(field: field, message: "required: \(what)"))
            }
        }
        var secrets = ConnectionSecrets()
        var username: String?
        switch type {
        case "password":
            username = Self.require(auth.username, "auth.username", "the Salesforce user name of the integration user", &problems)
            if let password = Self.secret(auth.password) {
                secrets.password = password
                secrets.securityToken = Self.secret(auth.securityToken)
            } else if let kept, kept.password != nil {
                secrets.password = kept.password
                secrets.securityToken = kept.securityToken
            } else {
                missing("auth.password", "the user's password (append the security token, or give it as securityToken)")
            }
        case "clientCredentials":
            break
        case "jwtBearer":
            username = Self.require(auth.username, "auth.username", "the Salesforce username the app logs in as (the assertion's sub)", &problems)
            if let pem = Self.secret(auth.privateKeyPem) {
                // The key's problem is said without the key: the detail never echoes it.
                if let problem = JWTBearerAssertion.keyProblem(pem) {
                    safetyProblems.append(.init(field: "auth.privateKeyPem", message: problem))
                } else {
                    secrets.privateKeyPem = pem
                }
            } else if let kept, kept.privateKeyPem != nil {
                secrets.privateKeyPem = kept.privateKeyPem
            } else {
                missing("auth.privateKeyPem", "the RSA private key (PEM) whose certificate is uploaded to the app")
            }
        case nil:
            if self.auth != nil { problems.append(.init(field: "auth.type", message: "required: password, clientCredentials or jwtBearer")) }
        case let other?:
            problems.append(.init(field: "auth.type", message: "'\(other)' is not an auth type: use password, clientCredentials or jwtBearer"))
        }
        let audience = self.audience(type: type, loginURL: login?.url, problems: &problems, safetyProblems: &safetyProblems)
        var clientId = ""
        if type == "password" || type == "clientCredentials" || type == "jwtBearer" {
            clientId = Self.require(auth.clientId, "auth.clientId", "the connected app's Consumer Key", &problems) ?? ""
        }
        if type == "password" || type == "clientCredentials" {
            if let secret = Self.secret(auth.clientSecret) {
                secrets.clientSecret = secret
            } else if let kept, kept.clientSecret != nil {
                secrets.clientSecret = kept.clientSecret
            } else {
                missing("auth.clientSecret", "the connected app's Consumer Secret")
            }
        }
        if !safetyProblems.isEmpty {
            throw APIError.problems(safetyProblems + problems, code: "validation_failed", summary: "the connection is not valid")
        }
        guard problems.isEmpty, let name, let login, let apiVersion, let type, let authType = Connection.AuthType(rawValue: type) else {
            throw APIError.problems(problems, code: "invalid_request", summary: "the connection is not valid")
        }
        return Connection(
            id: id, name: name, loginKind: login.kind, loginValue: login.value, apiVersion: apiVersion, authType: authType,
            username: username, clientId: clientId, secrets: secrets, status: .connected, instanceUrl: nil, audience: audience,
            createdAt: previous?.createdAt ?? now, updatedAt: now
        )
    }

    /// What changes from `previous` that stored secrets must not follow, said for a person; nil
    /// when login URL, username and client id stay (`url` is the new validated login URL).
    private func identityChange(from previous: Connection, to url: String?, policy: OutboundHostPolicy) -> String? {
        let previousHost: SalesforceLoginHost = previous.loginKind == .customDomain ? .customDomain(previous.loginValue) : .loginURL(previous.loginValue)
        let previousURL = try? previousHost.validatedURL(policy: policy)
        if let url, url.lowercased() != previousURL?.lowercased() {
            return "the login URL changes (to \(url))"
        }
        let auth = self.auth ?? Auth()
        if let username = Self.text(auth.username), username != previous.username {
            return "the username changes"
        }
        if let clientId = Self.text(auth.clientId), clientId != previous.clientId {
            return "the client id changes"
        }
        return nil
    }

    /// Exactly one of `customDomain` and `loginUrl`, checked by the client's own URL rules and
    /// the host policy; with the validated login URL.
    private func login(
        policy: OutboundHostPolicy, problems: inout [ConfigurationProblem], safetyProblems: inout [ConfigurationProblem]
    ) -> (kind: Connection.LoginKind, value: String, url: String)? {
        let domain = Self.text(self.customDomain)
        let url = Self.text(self.loginUrl)
        let host: SalesforceLoginHost
        let chosen: (kind: Connection.LoginKind, value: String)
        switch (domain, url) {
        case (let domain?, nil):
            host = .customDomain(domain)
            chosen = (.customDomain, domain)
        case (nil, let url?):
            host = .loginURL(url)
            chosen = (.loginUrl, url)
        case (.some, .some):
            problems.append(.init(field: "loginUrl", message: "give either customDomain (the My Domain prefix) or loginUrl (a full URL), not both"))
            return nil
        case (nil, nil):
            problems.append(.init(field: "customDomain", message: "required: the My Domain prefix (acme-dev-ed for acme-dev-ed.my.salesforce.com), or a full loginUrl instead"))
            return nil
        }
        do {
            let url = try host.validatedURL(policy: policy)
            return (chosen.kind, chosen.value, url)
        } catch {
            let problem = ConfigurationProblem(field: chosen.kind.rawValue, message: Self.sentence(error))
            if error.code == "HOST_NOT_ALLOWED" { safetyProblems.append(problem) } else { problems.append(problem) }
            return nil
        }
    }

    /// The JWT bearer flow's `auth.audience` when given: an absolute `https://` URL (`http://`
    /// only on loopback, when the login URL is loopback too). Other flows take none.
    private func audience(
        type: String?, loginURL: String?, problems: inout [ConfigurationProblem], safetyProblems: inout [ConfigurationProblem]
    ) -> String? {
        guard let text = Self.text(self.auth?.audience) else { return nil }
        guard type == "jwtBearer" else {
            problems.append(.init(field: "auth.audience", message: "only the jwtBearer flow takes an audience: leave it out"))
            return nil
        }
        let loginIsLoopback = loginURL.flatMap { URLComponents(string: $0)?.host }.map(OutboundHostPolicy.isLoopback(host:)) ?? false
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              let host = components.host, !host.isEmpty, components.user == nil, components.password == nil,
              components.query == nil, components.fragment == nil
        else {
            safetyProblems.append(.init(field: "auth.audience", message: "not an absolute URL: give the login server the assertion is for, such as https://login.salesforce.com or https://test.salesforce.com"))
            return nil
        }
        switch scheme {
        case "https":
            return text
        case "http" where OutboundHostPolicy.isLoopback(host: host) && loginIsLoopback:
            return text
        default:
            safetyProblems.append(.init(field: "auth.audience", message: "must be an https:// URL (http:// only on loopback, with a loopback login URL), such as https://login.salesforce.com"))
            return nil
        }
    }

    /// The API version in its `vNN.N` form; the current default when not given.
    private func apiVersion(problems: inout [ConfigurationProblem]) -> String? {
        let version = Self.text(self.apiVersion) ?? SalesforceConnectionConfiguration.defaultAPIVersion
        let probe = SalesforceConnectionConfiguration(
            login: .customDomain("probe"), credentials: .clientCredentials(clientId: "", clientSecret: ""), apiVersion: version
        )
        do {
            return try probe.normalizedAPIVersion()
        } catch {
            problems.append(.init(field: "apiVersion", message: Self.sentence(error)))
            return nil
        }
    }

    /// The client's message and hint, without its internal code.
    static func sentence(_ error: SalesforceError) -> String {
        error.hint.map { "\(error.message): \($0)" } ?? error.message
    }

    private static func text(_ value: String?) -> String? {
        guard let trimmed = value?.trimmingCharacters(in: .whitespacesAndNewlines), !trimmed.isEmpty else { return nil }
        return trimmed
    }

    /// Secrets are taken as given (a space may belong to a password); only empty means absent.
    private static func secret(_ value: String?) -> String? {
        guard let value, !value.isEmpty else { return nil }
        return value
    }

    private static func require(_ value: String?, _ field: String, _ what: String, _ problems: inout [ConfigurationProblem]) -> String? {
        guard let text = Self.text(value) else {
            problems.append(.init(field: field, message: "required: \(what)"))
            return nil
        }
        return text
    }
}
