import Foundation
import SfdestBasics

/// The rules for URLs the client sends credentials or tokens to: https, or http on loopback only,
/// and a host the ``OutboundHostPolicy`` allows.
enum LoginURLRules {
    /// `https://{prefix}.my.salesforce.com` after checking the prefix is one DNS label.
    static func customDomainURL(_ prefix: String) throws(SalesforceError) -> String {
        let isLabelCharacter: (Character) -> Bool = { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        guard !prefix.isEmpty, prefix.count <= 63, prefix.allSatisfy(isLabelCharacter),
              !prefix.hasPrefix("-"), !prefix.hasSuffix("-")
        else {
            throw SalesforceError.configuration(
                code: "INVALID_CUSTOM_DOMAIN",
                message: "custom domain '\(prefix)' must be the My Domain prefix only: letters, digits and hyphens",
                hint: "for https://acme-dev-ed.my.salesforce.com enter acme-dev-ed, or give a full loginUrl instead"
            )
        }
        return "https://\(prefix.lowercased()).my.salesforce.com"
    }

    /// Validates a login or instance URL and returns `scheme://host[:port][/path]` without a trailing slash.
    static func baseURL(_ text: String, role: String, policy: OutboundHostPolicy) throws(SalesforceError) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let components = URLComponents(string: trimmed),
              let scheme = components.scheme?.lowercased(),
              let host = components.host, !host.isEmpty
        else {
            throw Self.invalid(role, text, "is not an absolute URL such as https://login.salesforce.com")
        }
        guard components.user == nil, components.password == nil else {
            throw Self.invalid(role, text, "must not carry a user name or password")
        }
        if let problem = OutboundHostPolicy.hostSyntaxProblem(components.percentEncodedHost ?? "") {
            throw Self.invalid(role, text, problem)
        }
        guard components.query == nil, components.fragment == nil else {
            throw Self.invalid(role, text, "must not have a query or fragment")
        }
        switch scheme {
        case "https":
            break
        case "http":
            guard Self.isLoopback(host: host) else {
                throw SalesforceError.configuration(
                    code: "INSECURE_LOGIN_URL",
                    message: "\(role) \(text) uses http:// for a host that is not loopback; credentials would travel unencrypted",
                    hint: "use https://, or http:// only for 127.0.0.1, localhost or ::1 (a local emulator)"
                )
            }
        default:
            throw Self.invalid(role, text, "must use https://")
        }
        if let problem = policy.salesforceHostProblem(host) {
            throw SalesforceError.configuration(code: "HOST_NOT_ALLOWED", message: "\(role) \(text) is refused: \(problem)", hint: nil)
        }
        let hostPart = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        let portPart = components.port.map { ":\($0)" } ?? ""
        var path = components.percentEncodedPath
        while path.hasSuffix("/") { path.removeLast() }
        return "\(scheme)://\(hostPart)\(portPart)\(path)"
    }

    /// True for `localhost` and any address the resolver reads as loopback (`127.1`, `::1`, ...).
    static func isLoopback(host: String) -> Bool {
        OutboundHostPolicy.isLoopback(host: host)
    }

    private static func invalid(_ role: String, _ text: String, _ problem: String) -> SalesforceError {
        .configuration(code: "INVALID_LOGIN_URL", message: "\(role) '\(text)' \(problem)", hint: nil)
    }
}
