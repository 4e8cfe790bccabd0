import Activation
import Foundation
import SfdestBasics
import Store

/// The body of `PUT /v1/destinations/{id}/alerts`: the fields given replace the current ones.
struct AlertSettingsRequest: Decodable, Sendable {
    var skipRateThreshold: Double?
    var skipRateMinimumReceived: Int?
    var delayThresholdSeconds: Int?
    var runStart: Bool?
    var runSuccess: Bool?

    enum CodingKeys: String, CodingKey { case skipRateThreshold, skipRateMinimumReceived, delayThresholdSeconds, runStart, runSuccess }

    init(from decoder: any Decoder) throws {
        let container = try decoder.lenientContainer(keyedBy: CodingKeys.self)
        self.skipRateThreshold = try container.lenient(Double.self, forKey: .skipRateThreshold, decoder: decoder)
        self.skipRateMinimumReceived = try container.lenient(Int.self, forKey: .skipRateMinimumReceived, decoder: decoder)
        self.delayThresholdSeconds = try container.lenient(Int.self, forKey: .delayThresholdSeconds, decoder: decoder)
        self.runStart = try container.lenient(Bool.self, forKey: .runStart, decoder: decoder)
        self.runSuccess = try container.lenient(Bool.self, forKey: .runSuccess, decoder: decoder)
    }

    /// `current` with this request's values, or every problem with them.
    func applied(to current: AlertSettings) throws(APIError) -> AlertSettings {
        var settings = current
        var problems: [ConfigurationProblem] = []
        if let threshold = self.skipRateThreshold {
            if threshold >= 0, threshold <= 1 {
                settings.skipRateThreshold = threshold
            } else {
                problems.append(.init(field: "skipRateThreshold", message: "\(threshold) is not a share: give a number from 0 to 1, such as 0.01 for 1%"))
            }
        }
        if let minimum = self.skipRateMinimumReceived {
            if minimum >= 1, minimum <= 1_000_000_000 {
                settings.skipRateMinimumReceived = minimum
            } else {
                problems.append(.init(field: "skipRateMinimumReceived", message: "\(minimum) is out of range: give a count from 1 to 1000000000"))
            }
        }
        if let seconds = self.delayThresholdSeconds {
            if seconds >= 1, seconds <= 7 * 86_400 {
                settings.delayThresholdSeconds = seconds
            } else {
                problems.append(.init(field: "delayThresholdSeconds", message: "\(seconds) is out of range: give seconds from 1 to 604800 (7 days), such as 900"))
            }
        }
        if let runStart = self.runStart { settings.runStart = runStart }
        if let runSuccess = self.runSuccess { settings.runSuccess = runSuccess }
        guard problems.isEmpty else {
            throw APIError.problems(problems, code: "validation_failed", summary: "the alert settings are not valid")
        }
        return settings
    }
}

/// The body of `POST /v1/alerts/subscriptions`.
struct AlertSubscriptionRequest: Decodable, Sendable {
    var url: String?
    var secret: String?
    var destinationId: String?

    enum CodingKeys: String, CodingKey { case url, secret, destinationId }

    init(from decoder: any Decoder) throws {
        let container = try decoder.lenientContainer(keyedBy: CodingKeys.self)
        self.url = try container.lenient(String.self, forKey: .url, decoder: decoder)
        self.secret = try container.lenient(String.self, forKey: .secret, decoder: decoder)
        self.destinationId = try container.lenient(String.self, forKey: .destinationId, decoder: decoder)
    }

    /// Every problem with the request (the destination's existence is checked by the caller).
    /// The URL's host is resolved and every address checked against `policy` (the sender checks
    /// again at each send: DNS can change). A host that does not resolve yet is accepted here.
    func problems(policy: OutboundHostPolicy) async -> [ConfigurationProblem] {
        var problems: [ConfigurationProblem] = []
        if let url = self.url?.trimmingCharacters(in: .whitespaces), !url.isEmpty {
            if let problem = Self.urlProblem(url, policy: policy) {
                problems.append(.init(field: "url", message: problem))
            } else if let host = URLComponents(string: url)?.host, case .failure(let refusal) = await policy.webhookAddresses(host: host, requireResolution: false) {
                problems.append(.init(field: "url", message: refusal.message))
            }
        } else {
            problems.append(.init(field: "url", message: "required: the https:// address alert events are POSTed to"))
        }
        if let secret = self.secret, !secret.isEmpty {
            if secret.utf8.count < 16 || secret.utf8.count > 1024 {
                problems.append(.init(field: "secret", message: "give 16 to 1024 bytes (e.g. openssl rand -hex 32): it keys the HMAC-SHA256 signature"))
            }
        } else {
            problems.append(.init(field: "secret", message: "required: a shared secret of 16 to 1024 bytes that signs each event (e.g. openssl rand -hex 32)"))
        }
        return problems
    }

    /// https://, or http:// for loopback hosts only (a local receiver); no credentials or fragment.
    static func urlProblem(_ text: String, policy: OutboundHostPolicy) -> String? {
        guard text.utf8.count <= 2048, let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              let host = components.host, !host.isEmpty
        else {
            return "'\(text)' is not an absolute URL such as https://hooks.example.com/sfdest"
        }
        guard components.user == nil, components.password == nil else { return "must not carry a user name or password" }
        if let problem = OutboundHostPolicy.hostSyntaxProblem(components.percentEncodedHost ?? "") { return problem }
        guard components.fragment == nil else { return "must not have a fragment" }
        switch scheme {
        case "https":
            return nil
        case "http":
            guard OutboundHostPolicy.isLoopback(host: host) else {
                return "http:// is allowed only for 127.0.0.1, localhost or ::1: use https:// so events travel encrypted"
            }
            return policy.allowsLoopback ? nil
                : "\(host) is loopback, allowed only while sfdest itself listens on loopback: use a public https:// receiver"
        default:
            return "must use https://"
        }
    }
}
