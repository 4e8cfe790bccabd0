import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `POST /services/oauth2/token`: the OAuth 2.0 password, client-credentials and JWT bearer grants.
struct TokenEndpoint: Sendable {
    let org: Org

    func respond(to request: Request) async throws -> Response {
        guard request.method == .post else {
            return Reply.json(.methodNotAllowed, OAuthFailure(error: "invalid_request", description: "must use HTTP POST").json)
        }
        let body = try await request.collectedBody()
        let form = Self.decodeForm(String(buffer: body))
        let basic = Self.basicCredentials(request.headers[.authorization])
        let org = self.org
        let tokenPrefix = String(org.organizationId.prefix(15))
        var struck: FaultKind?
        let baseURL = org.baseURL
        let result = org.access.withLock {
            $0.grant(form: form, basic: basic, tokenPrefix: tokenPrefix, now: .now, baseURL: baseURL, wallClock: Date(), struck: &struck)
        }
        org.stats.withLock { stats in
            stats.tokenRequests += 1
            if case .success = result { stats.tokensIssued += 1 }
            if let struck { stats.count([struck]) }
        }
        switch result {
        case .failure(let failure):
            var headers = HTTPFields()
            headers[.cacheControl] = "no-store"
            headers[HTTPField.Name("Pragma")!] = "no-cache"
            return Reply.json(.badRequest, failure.json, headers: headers)
        case .success(let token):
            let instanceURL = org.access.withLock { $0.faults.instanceUrl } ?? baseURL
            let issuedAt = String(Int64(Date().timeIntervalSince1970 * 1000))
            var headers = HTTPFields()
            headers[.cacheControl] = "no-cache,must-revalidate,max-age=0,no-store,private"
            return Reply.json(.ok, .object([
                ("access_token", .string(token)),
                ("instance_url", .string(instanceURL)),
                ("id", .string("\(baseURL)/id/\(org.organizationId)/\(org.userId)")),
                ("token_type", .string("Bearer")),
                ("issued_at", .string(issuedAt)),
                ("signature", .string(Self.signature())),
            ]), headers: headers)
        }
    }

    /// Decodes `application/x-www-form-urlencoded` (`+` is a space, `%XX` an escaped byte).
    static func decodeForm(_ text: String) -> [String: String] {
        var form: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = Self.unescape(parts[0])
            let value = parts.count > 1 ? Self.unescape(parts[1]) : ""
            form[key] = value
        }
        return form
    }

    private static func unescape(_ part: Substring) -> String {
        let spaced = part.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    /// Client id and secret from `Authorization: Basic base64(id:secret)`.
    static func basicCredentials(_ header: String?) -> (id: String, secret: String)? {
        guard let header, header.hasPrefix("Basic "),
              let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
              let decoded = String(data: data, encoding: .utf8),
              let colon = decoded.firstIndex(of: ":")
        else { return nil }
        let id = Self.unescape(decoded[..<colon])
        let secret = Self.unescape(decoded[decoded.index(after: colon)...])
        return (id, secret)
    }

    /// A base64 value shaped like Salesforce's HMAC-SHA256 signature (clients don't verify it).
    private static func signature() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString()
    }
}
