/// A Salesforce record Id, normalized to its 18-character, case-insensitive-safe form.
///
/// Salesforce hands out 15-character Ids (case-sensitive) and 18-character Ids (the 15 plus a
/// 3-character checksum that encodes the case of the first 15). Both name the same record, so the
/// domain keys every record by the 18-character form.
public struct SalesforceRecordID: Hashable, Sendable, CustomStringConvertible, Comparable {
    /// The 18-character form.
    public let value: String

    /// Why a string is not a usable record Id. The description is written for a person.
    public enum ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        case wrongLength(Int)
        case invalidCharacter(Character)
        case checksumMismatch(expected: String, found: String)

        public var description: String {
            switch self {
            case .wrongLength(let length):
                return "a Salesforce Id has 15 or 18 characters, this one has \(length)"
            case .invalidCharacter(let character):
                return "a Salesforce Id has only letters and digits, this one has '\(character)'"
            case .checksumMismatch(let expected, let found):
                return "the last 3 characters of an 18-character Id are a checksum: expected '\(expected)', found '\(found)' (the Id was mistyped or its case was changed)"
            }
        }
    }

    /// Parses a 15 or 18 character Id; an 18-character Id must carry the right checksum.
    public init(_ text: some StringProtocol) throws(ParseError) {
        let scalars = text.unicodeScalars
        let length = scalars.count
        guard length == 15 || length == 18 else {
            throw .wrongLength(text.count)
        }
        for scalar in scalars where !(scalar.isASCII && Self.isAlphanumeric(UInt8(scalar.value))) {
            throw .invalidCharacter(Character(scalar))
        }
        let utf8 = Array(text.utf8)
        let checksum = Self.checksum(of: utf8[0..<15])
        if utf8.count == 18 {
            let found = Array(utf8[15..<18])
            // Salesforce accepts the checksum in either case: it only encodes case, it has none.
            guard found.map(Self.upper) == checksum else {
                throw .checksumMismatch(
                    expected: String(decoding: checksum, as: UTF8.self),
                    found: String(decoding: found, as: UTF8.self)
                )
            }
        }
        self.value = String(decoding: utf8[0..<15] + checksum, as: UTF8.self)
    }

    /// The 15-character, case-sensitive form.
    public var shortForm: String { String(self.value.prefix(15)) }

    /// The first three characters: the object the record belongs to.
    public var keyPrefix: String { String(self.value.prefix(3)) }

    /// The object named by the key prefix, when it is one the domain knows.
    public var objectType: SalesforceObjectType? { SalesforceObjectType(keyPrefix: self.keyPrefix) }

    public var description: String { self.value }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }

    /// The 3-character checksum of the first 15 characters of an Id.
    static func checksum(of id: ArraySlice<UInt8>) -> [UInt8] {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345".utf8)
        var result: [UInt8] = []
        result.reserveCapacity(3)
        let start = id.startIndex
        for chunk in 0..<3 {
            var bits = 0
            for position in 0..<5 {
                let byte = id[start + chunk * 5 + position]
                if byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") {
                    bits |= 1 << position
                }
            }
            result.append(alphabet[bits])
        }
        return result
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
    }

    private static func upper(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") ? byte - 32 : byte
    }
}

/// The Salesforce objects a destination can write, with their Id key prefixes.
public enum SalesforceObjectType: String, Sendable, CaseIterable, Codable {
    case contact = "Contact"
    case lead = "Lead"

    /// The 3-character key prefix of this object's record Ids.
    public var keyPrefix: String {
        switch self {
        case .contact: return "003"
        case .lead: return "00Q"
        }
    }

    public init?(keyPrefix: String) {
        guard let match = Self.allCases.first(where: { $0.keyPrefix == keyPrefix }) else { return nil }
        self = match
    }
}
