/// An IP address written in a host name, parsed the way the system resolver reads it, so that a
/// check sees the address a connection would reach (`0x7f.1`, `2130706433` and `127.1` are all
/// 127.0.0.1; `[::ffff:127.0.0.1]` is too).
public enum IPAddressLiteral: Sendable, Hashable, CustomStringConvertible {
    case v4(UInt32)
    case v6([UInt16])

    /// What kind of network an address belongs to, for deciding whether it may be called.
    public enum Scope: String, Sendable {
        case loopback, privateNetwork = "private", linkLocal = "link-local", unspecified, multicast
        case cloudMetadata = "cloud metadata", reserved, global
    }

    /// The address a host names, or nil for a host name that is not a numeric address.
    public init?(host: String) {
        var name = host.lowercased()
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        if let zone = name.firstIndex(of: "%") { name = String(name[..<zone]) }
        if name.contains(":") {
            guard let groups = Self.parseV6(name) else { return nil }
            self = .v6(groups)
        } else if let value = Self.parseV4(name) {
            self = .v4(value)
        } else {
            return nil
        }
    }

    /// The IPv4 address an IPv4-mapped or IPv4-compatible IPv6 address carries, else self.
    public var unmapped: IPAddressLiteral {
        guard case .v6(let groups) = self, groups[0..<5].allSatisfy({ $0 == 0 }) else { return self }
        let embedded = UInt32(groups[6]) << 16 | UInt32(groups[7])
        if groups[5] == 0xFFFF { return .v4(embedded) }
        // ::a.b.c.d (deprecated "compatible" form), but not :: and ::1 themselves.
        if groups[5] == 0, embedded > 1 { return .v4(embedded) }
        return self
    }

    public var scope: Scope {
        switch self.unmapped {
        case .v4(let value):
            let octet = { (index: Int) in UInt8(truncatingIfNeeded: value >> (24 - 8 * index)) }
            let inBlock = { (base: UInt32, bits: UInt32) in value >> (32 - bits) == base >> (32 - bits) }
            if value == 0xA9FE_A9FE { return .cloudMetadata } // 169.254.169.254
            if octet(0) == 127 { return .loopback }
            if octet(0) == 0 { return .unspecified } // 0.0.0.0/8: "this network"
            if octet(0) == 10 || inBlock(0xAC10_0000, 12) || inBlock(0xC0A8_0000, 16) || inBlock(0x6440_0000, 10)
                || inBlock(0xC612_0000, 15) || inBlock(0xC000_0000, 24) {
                // 10/8, 172.16/12, 192.168/16, 100.64/10 (carrier-grade NAT), 198.18/15 (benchmarking),
                // 192.0.0/24 (protocol assignments)
                return .privateNetwork
            }
            if inBlock(0xA9FE_0000, 16) { return .linkLocal }
            if inBlock(0xE000_0000, 4) { return .multicast }
            if inBlock(0xF000_0000, 4) { return .reserved } // 240/4 and the broadcast address
            return .global
        case .v6(let groups):
            if groups == [0xFD00, 0x0EC2, 0, 0, 0, 0, 0, 0x0254] { return .cloudMetadata } // fd00:ec2::254
            if groups.dropLast().allSatisfy({ $0 == 0 }) {
                switch groups[7] {
                case 0: return .unspecified
                case 1: return .loopback
                default: break
                }
            }
            // Prefixes that carry an IPv4 address reach it: NAT64 64:ff9b::/96 (and the local-use
            // 64:ff9b:1::/48), 6to4 2002::/16. Classify them by that address.
            if groups[0] == 0x0064, groups[1] == 0xFF9B, groups[2...5].allSatisfy({ $0 == 0 }) || groups[2] == 0x0001 {
                return IPAddressLiteral.v4(UInt32(groups[6]) << 16 | UInt32(groups[7])).scope
            }
            if groups[0] == 0x2002 {
                return IPAddressLiteral.v4(UInt32(groups[1]) << 16 | UInt32(groups[2])).scope
            }
            if groups[0] & 0xFE00 == 0xFC00 { return .privateNetwork } // fc00::/7
            if groups[0] & 0xFFC0 == 0xFEC0 { return .privateNetwork } // fec0::/10 (deprecated site-local)
            if groups[0] & 0xFFC0 == 0xFE80 { return .linkLocal } // fe80::/10
            if groups[0] & 0xFF00 == 0xFF00 { return .multicast } // ff00::/8
            return .global
        }
    }

    public var description: String {
        switch self {
        case .v4(let value):
            return (0..<4).map { String(UInt8(truncatingIfNeeded: value >> (24 - 8 * $0))) }.joined(separator: ".")
        case .v6(let groups):
            return groups.map { String($0, radix: 16) }.joined(separator: ":")
        }
    }

    /// inet_aton's forms: 1 to 4 parts, each decimal, octal (leading 0) or hex (0x); the last
    /// part fills the remaining bytes.
    static func parseV4(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...4).contains(parts.count) else { return nil }
        var values: [UInt64] = []
        for part in parts {
            guard let value = Self.number(part) else { return nil }
            values.append(value)
        }
        var result: UInt64 = 0
        for (index, value) in values.enumerated() {
            if index < values.count - 1 {
                guard value <= 255 else { return nil }
                result |= value << (24 - 8 * UInt64(index))
            } else {
                let remainingBits = 32 - 8 * UInt64(index)
                guard value < (1 << remainingBits) else { return nil }
                result |= value
            }
        }
        return UInt32(result)
    }

    private static func number(_ part: Substring) -> UInt64? {
        guard !part.isEmpty, part.count <= 12 else { return nil }
        if part.hasPrefix("0x") {
            let digits = part.dropFirst(2)
            return digits.isEmpty ? 0 : UInt64(digits, radix: 16)
        }
        if part.count > 1, part.hasPrefix("0") { return UInt64(part.dropFirst(), radix: 8) }
        guard part.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt64(part)
    }

    /// Eight 16-bit groups from the text form (`::` once, an IPv4 tail allowed).
    static func parseV6(_ text: String) -> [UInt16]? {
        var text = Substring(text)
        var tail: [UInt16] = []
        if let lastColon = text.lastIndex(of: ":"), text[text.index(after: lastColon)...].contains(".") {
            guard let v4 = Self.strictV4(text[text.index(after: lastColon)...]) else { return nil }
            tail = [UInt16(v4 >> 16), UInt16(v4 & 0xFFFF)]
            text = text[...lastColon]
            if !text.hasSuffix("::") { text = text.dropLast() }
        }
        let halves = Self.split(text, on: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ half: Substring) -> [UInt16]? {
            if half.isEmpty { return [] }
            var result: [UInt16] = []
            for piece in half.split(separator: ":", omittingEmptySubsequences: false) {
                guard (1...4).contains(piece.count), let value = UInt16(piece, radix: 16) else { return nil }
                result.append(value)
            }
            return result
        }
        guard let head = groups(halves[0]) else { return nil }
        if halves.count == 1 {
            let all = head + tail
            return all.count == 8 ? all : nil
        }
        guard let rest = groups(halves[1]) else { return nil }
        let known = head.count + rest.count + tail.count
        guard known <= 7 else { return nil }
        return head + Array(repeating: 0, count: 8 - known) + rest + tail
    }

    /// `text` cut at every occurrence of `separator`.
    private static func split(_ text: Substring, on separator: String) -> [Substring] {
        var pieces: [Substring] = []
        var rest = text
        while let range = rest.firstRange(of: separator) {
            pieces.append(rest[..<range.lowerBound])
            rest = rest[range.upperBound...]
        }
        pieces.append(rest)
        return pieces
    }

    private static func strictV4(_ text: Substring) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var result: UInt32 = 0
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy({ $0.isASCII && $0.isNumber }), let value = UInt32(part), value <= 255 else { return nil }
            result = result << 8 | value
        }
        return result
    }
}
