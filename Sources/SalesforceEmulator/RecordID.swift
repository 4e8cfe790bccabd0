/// Salesforce record Ids as the org hands them out and checks them.
///
/// An Id is 15 case-sensitive characters (3-character key prefix + 12), or 18 with a
/// 3-character checksum that encodes where the upper-case letters are.
enum RecordID {
    private static let checksumAlphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345".utf8)
    private static let base62: [UInt8] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// The 3-character checksum of a 15-character Id.
    static func checksum(of fifteen: some Collection<UInt8>) -> [UInt8] {
        precondition(fifteen.count == 15)
        let characters = Array(fifteen)
        var suffix: [UInt8] = []
        suffix.reserveCapacity(3)
        for chunk in 0..<3 {
            var bits = 0
            for position in 0..<5 {
                let character = characters[chunk * 5 + position]
                if character >= UInt8(ascii: "A") && character <= UInt8(ascii: "Z") {
                    bits |= 1 << position
                }
            }
            suffix.append(Self.checksumAlphabet[bits])
        }
        return suffix
    }

    /// The 18-character form of a well-formed 15- or 18-character Id, or nil when it is malformed
    /// (wrong length, a character outside [0-9A-Za-z], or an 18-character Id whose checksum does not match).
    static func normalized(_ candidate: String) -> String? {
        let bytes = Array(candidate.utf8)
        guard bytes.count == 15 || bytes.count == 18 else { return nil }
        for byte in bytes where !Self.isAlphanumeric(byte) {
            return nil
        }
        let expected = Self.checksum(of: bytes[0..<15])
        if bytes.count == 18 {
            return Array(bytes[15..<18]) == expected ? candidate : nil
        }
        return String(decoding: bytes + expected, as: UTF8.self)
    }

    /// The key prefix (first three characters) of an Id.
    static func keyPrefix(of id: String) -> Substring {
        id.prefix(3)
    }

    /// Builds an 18-character Id from a key prefix and a sequence number unique within the org.
    static func make(keyPrefix: String, instance: String, sequence: UInt64) -> String {
        var body = [UInt8](repeating: UInt8(ascii: "0"), count: 10)
        var remaining = sequence
        var position = body.count - 1
        while remaining > 0 && position >= 0 {
            body[position] = Self.base62[Int(remaining % 62)]
            remaining /= 62
            position -= 1
        }
        let fifteen = Array(keyPrefix.utf8) + Array(instance.utf8.prefix(2)) + body
        return String(decoding: fifteen + Self.checksum(of: fifteen), as: UTF8.self)
    }

    /// Random base-62 characters, for org and user Ids and tokens.
    static func randomCharacters(_ count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<count).map { _ in Self.base62[Int.random(in: 0..<62, using: &generator)] }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
    }
}
