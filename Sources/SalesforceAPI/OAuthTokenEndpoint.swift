import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SfdestBasics

/// Asks `{loginUrl}/services/oauth2/token` for an access token with the configured flow.
struct OAuthTokenEndpoint: Sendable {
    /// The token answer fields the client uses.
    private struct TokenAnswer: Decodable {
        var access_token: String
        var instance_url: String
        var id: String?
        var issued_at: String?
    }

    let loginURL: String
    let credentials: SalesforceCredentials
    let transport: SalesforceTransport
    /// Checks the `instance_url` of each token answer before any token is sent there.
    let hostPolicy: OutboundHostPolicy
    /// Pauses before asking again when Salesforce says a token request is already being processed.
    let busyRetryDelays: [Duration]

    init(loginURL: String, credentials: SalesforceCredentials, transport: SalesforceTransport, hostPolicy: OutboundHostPolicy,
         busyRetryDelays: [Duration] = [.milliseconds(200), .milliseconds(500), .seconds(1)]) {
        self.hostPolicy = hostPolicy
        self.loginURL = loginURL
        self.credentials = credentials
        self.transport = transport
        self.busyRetryDelays = busyRetryDelays
    }

    /// One new session, retrying while Salesforce reports a concurrent token request.
    func requestSession() async throws -> SalesforceSession {
        var attempt = 0
        while true {
            do {
                return try await self.requestOnce()
            } catch let error as SalesforceError where error.isTokenRequestAlreadyProcessing && attempt < self.busyRetryDelays.count {
                self.transport.logger.debug("token request already being processed; asking again")
                try await Task.sleep(for: self.busyRetryDelays[attempt])
                attempt += 1
            }
        }
    }

    private func requestOnce() async throws -> SalesforceSession {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        headers.add(name: "Accept", value: "application/json")
        let form = try Self.formBody(for: self.credentials, loginURL: self.loginURL, now: Date())
        let answer = try await self.transport.send(
            .POST, url: "\(self.loginURL)/services/oauth2/token", headers: headers,
            body: ByteBuffer(string: form), label: "POST /services/oauth2/token", peer: "the login host"
        )
        guard answer.status == 200 else {
            throw SalesforceError.fromTokenResponse(
                status: answer.status, body: answer.body, grantType: self.credentials.grantType,
                audience: self.credentials.jwtAudience(loginURL: self.loginURL)
            )
        }
        guard let token = try? JSONDecoder().decode(TokenAnswer.self, from: answer.body) else {
            throw SalesforceError.invalidResponse("the token answer lacks access_token or instance_url", httpStatus: answer.status)
        }
        // The token answer chooses where every later call (with the token) goes: the same host
        // rules as the login URL, so a login host cannot point sfdest at an internal address.
        let instanceURL = try LoginURLRules.baseURL(token.instance_url, role: "the token answer's instance_url", policy: self.hostPolicy)
        let issuedAt = token.issued_at.flatMap(Double.init).map { Date(timeIntervalSince1970: $0 / 1000) }
        return SalesforceSession(accessToken: token.access_token, instanceURL: instanceURL, identityURL: token.id, issuedAt: issuedAt)
    }

    /// The form-urlencoded token request for a flow (the security token appended to the password;
    /// for the JWT bearer flow a new assertion expiring ``JWTBearerAssertion/lifetime`` after `now`).
    static func formBody(for credentials: SalesforceCredentials, loginURL: String, now: Date) throws(SalesforceError) -> String {
        var pairs: [(String, String)] = [("grant_type", credentials.grantType)]
        switch credentials {
        case .password(let username, let password, let securityToken, let clientId, let clientSecret):
            pairs += [
                ("client_id", clientId), ("client_secret", clientSecret),
                ("username", username), ("password", password + (securityToken ?? "")),
            ]
        case .clientCredentials(let clientId, let clientSecret):
            pairs += [("client_id", clientId), ("client_secret", clientSecret)]
        case .jwtBearer(let clientId, let username, let privateKeyPem, _):
            let assertion = try JWTBearerAssertion(
                clientId: clientId, username: username, privateKeyPem: privateKeyPem,
                audience: credentials.jwtAudience(loginURL: loginURL) ?? loginURL
            )
            pairs.append(("assertion", try assertion.token(now: now)))
        }
        return pairs.map { "\(Self.formEncode($0.0))=\(Self.formEncode($0.1))" }.joined(separator: "&")
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters (so `+`, `&`, `=` and spaces survive).
    static func formEncode(_ text: String) -> String {
        var encoded = ""
        encoded.reserveCapacity(text.utf8.count)
        let hex: [Character] = Array("0123456789ABCDEF")
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                encoded.append(Character(Unicode.Scalar(byte)))
            default:
                encoded.append("%")
                encoded.append(hex[Int(byte >> 4)])
                encoded.append(hex[Int(byte & 0x0F)])
            }
        }
        return encoded
    }
}
