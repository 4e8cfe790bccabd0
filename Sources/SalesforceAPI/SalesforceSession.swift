import Foundation

/// An access token and where to use it. Its description and reflection never show the token.
public struct SalesforceSession: Sendable, CustomStringConvertible, CustomReflectable {
    /// Where every REST call of this session goes (the token answer's `instance_url`).
    public let instanceURL: String
    /// The identity URL (`https://login.salesforce.com/id/{orgId}/{userId}`), when given.
    public let identityURL: String?
    /// When Salesforce issued the token, when it said so.
    public let issuedAt: Date?
    /// The bearer token. Internal so it cannot leak through the public surface.
    let accessToken: String

    init(accessToken: String, instanceURL: String, identityURL: String?, issuedAt: Date?) {
        self.accessToken = accessToken
        self.instanceURL = instanceURL
        self.identityURL = identityURL
        self.issuedAt = issuedAt
    }

    /// The session as kept for other processes (the token in it: seal it before it is stored).
    package var sharedForm: Data {
        var fields = ["accessToken": self.accessToken, "instanceURL": self.instanceURL]
        fields["identityURL"] = self.identityURL
        fields["issuedAt"] = self.issuedAt.map { String($0.timeIntervalSince1970) }
        return (try? JSONEncoder().encode(fields)) ?? Data()
    }

    /// A session read back from `sharedForm`; nil when it is not one.
    package init?(sharedForm data: Data) {
        guard let fields = try? JSONDecoder().decode([String: String].self, from: data),
              let accessToken = fields["accessToken"], let instanceURL = fields["instanceURL"]
        else { return nil }
        self.init(
            accessToken: accessToken, instanceURL: instanceURL, identityURL: fields["identityURL"],
            issuedAt: fields["issuedAt"].flatMap(Double.init).map(Date.init(timeIntervalSince1970:))
        )
    }

    /// The org Id (15 or 18 characters) taken from the identity URL.
    public var organizationId: String? { self.identityPart(fromEnd: 1) }
    /// The integration user's Id taken from the identity URL.
    public var userId: String? { self.identityPart(fromEnd: 0) }

    public var description: String {
        "SalesforceSession(instanceURL: \(self.instanceURL), organizationId: \(self.organizationId ?? "-"), userId: \(self.userId ?? "-"))"
    }

    public var customMirror: Mirror {
        Mirror(self, children: ["instanceURL": self.instanceURL, "identityURL": self.identityURL as Any, "issuedAt": self.issuedAt as Any])
    }

    private func identityPart(fromEnd offset: Int) -> String? {
        guard let identityURL, let range = identityURL.range(of: "/id/") else { return nil }
        let parts = identityURL[range.upperBound...].split(separator: "/")
        guard parts.count == 2 else { return nil }
        return String(parts[parts.count - 1 - offset])
    }
}
