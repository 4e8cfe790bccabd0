/// Where sfdest may send credentials, tokens and alert events. Built once by the runtime from the
/// listen host and `SFDEST_ALLOWED_HOSTS`, and handed to the Salesforce client, the connection
/// routes and the webhook sender, so that one rule decides everywhere.
///
/// - Login and instance hosts must be Salesforce's (``salesforceDomains``), listed in
///   `SFDEST_ALLOWED_HOSTS`, or loopback while the service itself listens on loopback.
/// - Webhook hosts must not be (nor resolve to) private, link-local, unspecified, multicast,
///   reserved or cloud-metadata addresses; loopback only while the service listens on loopback.
public struct OutboundHostPolicy: Sendable, Equatable {
    /// The environment variable that lists extra hosts: `sfdc-proxy.acme.internal,*.acme-sf.example`.
    public static let environmentVariable = "SFDEST_ALLOWED_HOSTS"

    /// Salesforce's own domains; a host equal to one or ending in `.` + one is accepted.
    public static let salesforceDomains = [
        "salesforce.com", "force.com", "salesforce.mil", "cloudforce.com", "sfcrmproducts.cn",
        "salesforce-setup.com", "visualforce.com", "database.com",
    ]

    /// Host names named outright, lowercased (exact matches).
    public let exactHosts: Set<String>
    /// `*.suffix` entries, kept as `.suffix`: a host ending in it is accepted (not the bare suffix).
    public let hostSuffixes: [String]
    /// True when loopback hosts may be called: only while the service listens on loopback.
    public let allowsLoopback: Bool

    /// The policy from explicit entries (`host` or `*.suffix`); throws naming the first bad one.
    public init(allowedHosts: [String] = [], allowsLoopback: Bool) throws(OutboundHostPolicyError) {
        var exact = Set<String>()
        var suffixes: [String] = []
        for entry in allowedHosts {
            let name = entry.lowercased()
            let bare = name.hasPrefix("*.") ? String(name.dropFirst(2)) : name
            let labels = bare.split(separator: ".", omittingEmptySubsequences: false)
            let valid = !bare.isEmpty && bare.utf8.count <= 253 && labels.allSatisfy { label in
                !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                    && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
            }
            guard valid, !(name.hasPrefix("*.") && labels.count < 2) else {
                throw OutboundHostPolicyError(entry: entry)
            }
            if name.hasPrefix("*.") { suffixes.append("." + bare) } else { exact.insert(bare) }
        }
        self.exactHosts = exact
        self.hostSuffixes = suffixes
        self.allowsLoopback = allowsLoopback
    }

    /// The policy of a service listening on `listenHost` with `environment` (reads
    /// `SFDEST_ALLOWED_HOSTS`: comma-separated host names or `*.suffix`, spaces ignored).
    public init(listenHost: String, environment: [String: String]) throws(OutboundHostPolicyError) {
        let entries = (environment[Self.environmentVariable] ?? "")
            .split(separator: ",").map { String($0.filter { $0 != " " && $0 != "\t" }) }.filter { !$0.isEmpty }
        try self.init(allowedHosts: entries, allowsLoopback: Self.isLoopbackListenHost(listenHost))
    }

    /// Salesforce's domains and nothing else: no loopback, no extra hosts.
    public static let salesforceOnly = try! OutboundHostPolicy(allowsLoopback: false)
    /// Salesforce's domains and loopback (a local emulator), as a service on 127.0.0.1 has.
    public static let salesforceAndLoopback = try! OutboundHostPolicy(allowsLoopback: true)

    /// True when a listen address is loopback (`127.0.0.1`, `::1`, `localhost`); `0.0.0.0` and
    /// `::` listen on every interface, so they are not.
    public static func isLoopbackListenHost(_ host: String) -> Bool {
        Self.isLoopback(host: host)
    }

    /// What is wrong with a URL's host as written (`URLComponents.percentEncodedHost`), or nil: a
    /// host name of letters, digits, dots and hyphens, or a bracketed IPv6 literal. Percent-escapes
    /// are refused: the decoded host is what the policy checks, and `evil.com%2F.salesforce.com`
    /// decodes to a name ending in `.salesforce.com` while a URL rebuilt from it goes to `evil.com`.
    public static func hostSyntaxProblem(_ encodedHost: String) -> String? {
        if encodedHost.hasPrefix("["), encodedHost.hasSuffix("]") {
            let inside = encodedHost.dropFirst().dropLast()
            let ipv6 = inside.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
            return ipv6 && !inside.isEmpty ? nil : "the host \(encodedHost) is not an IPv6 address (zone ids and escapes are not accepted)"
        }
        let valid = !encodedHost.isEmpty && encodedHost.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }
        return valid ? nil : "the host \(encodedHost) may hold only letters, digits, dots and hyphens (no percent-escapes)"
    }

    /// True for `localhost` and any address the resolver reads as loopback (`127.1`, `0x7f.1`,
    /// `2130706433`, `::ffff:127.0.0.1`, ...). Not `*.localhost`: DNS may answer anything for it.
    public static func isLoopback(host: String) -> Bool {
        let name = Self.normalized(host)
        if name == "localhost" { return true }
        return IPAddressLiteral(host: name)?.scope == .loopback
    }

    /// Why a login or instance host may not be called, with how to allow it; nil when it may.
    public func salesforceHostProblem(_ host: String) -> String? {
        let name = Self.normalized(host)
        if self.isListed(name) { return nil }
        if Self.isLoopback(host: name) {
            return self.allowsLoopback ? nil
                : "\(host) is a loopback address, allowed only while sfdest itself listens on loopback (127.0.0.1 or ::1): list it in \(Self.environmentVariable) to allow it anyway"
        }
        if IPAddressLiteral(host: name) != nil {
            return "\(host) is an IP address, not a Salesforce host: use the org's My Domain (https://yourdomain.my.salesforce.com), or list the address in \(Self.environmentVariable)"
        }
        if Self.salesforceDomains.contains(where: { name == $0 || name.hasSuffix("." + $0) }) { return nil }
        return "\(host) is not a Salesforce host (*.salesforce.com, *.force.com, ...): use login.salesforce.com, test.salesforce.com or the org's My Domain, or list the host in \(Self.environmentVariable) (comma-separated; *.suffix allowed) to allow it"
    }

    /// Why an alert webhook may not be sent to an address the host resolved to; nil when it may.
    public func webhookAddressProblem(_ address: IPAddressLiteral, host: String) -> String? {
        let scope = address.scope
        switch scope {
        case .global:
            return nil
        case .loopback:
            if self.allowsLoopback || self.isListed(Self.normalized(host)) { return nil }
            return "\(host) is (or resolves to) the loopback address \(address), allowed only while sfdest itself listens on loopback"
        case .privateNetwork, .linkLocal, .unspecified, .multicast, .reserved, .cloudMetadata:
            if scope != .cloudMetadata, self.isListed(Self.normalized(host)) { return nil }
            return "\(host) is (or resolves to) \(address), a \(scope.rawValue) address: webhooks go to public hosts only"
                + (scope == .cloudMetadata ? "" : " (or hosts listed in \(Self.environmentVariable))")
        }
    }

    /// Why a webhook host name may not be called before resolving it (a known metadata name).
    public func webhookHostNameProblem(_ host: String) -> String? {
        let name = Self.normalized(host)
        if name == "metadata.google.internal" || name == "metadata" {
            return "\(host) is a cloud metadata service: webhooks go to public hosts only"
        }
        if name == "localhost" {
            return self.allowsLoopback ? nil : "\(host) is loopback, allowed only while sfdest itself listens on loopback"
        }
        return nil
    }

    /// True when `SFDEST_ALLOWED_HOSTS` names the host (exactly or by a `*.suffix`).
    func isListed(_ name: String) -> Bool {
        self.exactHosts.contains(name) || self.hostSuffixes.contains { name.hasSuffix($0) }
    }

    /// Lowercased, without brackets and a trailing dot (`login.salesforce.com.` is the same host).
    static func normalized(_ host: String) -> String {
        var name = host.lowercased()
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        while name.hasSuffix(".") { name.removeLast() }
        return name
    }
}

/// An `SFDEST_ALLOWED_HOSTS` entry that is not a host name or `*.suffix`.
public struct OutboundHostPolicyError: Error, CustomStringConvertible, Equatable {
    public let entry: String
    public init(entry: String) { self.entry = entry }
    public var description: String {
        "\(OutboundHostPolicy.environmentVariable) entry '\(self.entry)' is not a host name or *.suffix: list hosts comma-separated, e.g. sfdc-proxy.acme.internal,*.acme-sf.example"
    }
}
