/// A webhook host sfdest will not call, with why.
public struct WebhookHostRefusal: Error, CustomStringConvertible, Equatable {
    public let message: String
    public var description: String { self.message }
    public init(message: String) { self.message = message }
}

extension OutboundHostPolicy {
    /// Resolves a webhook host and checks every address it has (one bad address is enough to
    /// refuse: a resolver may hand out any of them). Returns the addresses, to connect to one of
    /// them and not resolve again. A name that does not resolve is refused only when
    /// `requireResolution` (at send time); a subscription may name a host not in DNS yet.
    public func webhookAddresses(host: String, requireResolution: Bool = true) async -> Result<[IPAddressLiteral], WebhookHostRefusal> {
        if let problem = self.webhookHostNameProblem(host) { return .failure(.init(message: problem)) }
        let addresses: [IPAddressLiteral]
        do {
            addresses = try await HostResolver.addresses(of: Self.normalized(host))
        } catch {
            return requireResolution ? .failure(.init(message: "\(error): check the host name")) : .success([])
        }
        for address in addresses {
            if let problem = self.webhookAddressProblem(address, host: host) { return .failure(.init(message: problem)) }
        }
        return .success(addresses)
    }
}
