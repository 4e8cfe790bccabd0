#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every address a host name resolves to, through the system resolver (as the HTTP client's own
/// connection would), so that each can be checked before anything is sent.
public enum HostResolver {
    /// A host name that did not resolve.
    public struct Failure: Error, CustomStringConvertible {
        public let host: String
        public let reason: String
        public var description: String { "\(self.host) did not resolve (\(self.reason))" }
    }

    /// The addresses of `host` (an IP literal is returned as is). The lookup blocks one thread of
    /// the global executor for as long as the resolver takes; webhooks are few, so that is fine.
    public static func addresses(of host: String) async throws -> [IPAddressLiteral] {
        if let literal = IPAddressLiteral(host: host) { return [literal] }
        let name = host.hasSuffix(".") ? String(host.dropLast()) : host
        return try await Task.detached(priority: .utility) { try Self.lookUp(name) }.value
    }

    private static func lookUp(_ name: String) throws -> [IPAddressLiteral] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(name, nil, &hints, &list)
        guard status == 0 else {
            throw Failure(host: name, reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(list) }
        var addresses: [IPAddressLiteral] = []
        var entry = list
        while let current = entry {
            if let address = current.pointee.ai_addr {
                switch Int32(address.pointee.sa_family) {
                case AF_INET:
                    let value = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) }
                    addresses.append(.v4(value))
                case AF_INET6:
                    let groups = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                        withUnsafeBytes(of: pointer.pointee.sin6_addr) { bytes in
                            (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
                        }
                    }
                    addresses.append(.v6(groups))
                default:
                    break
                }
            }
            entry = current.pointee.ai_next
        }
        guard !addresses.isEmpty else { throw Failure(host: name, reason: "no addresses") }
        return addresses
    }
}
