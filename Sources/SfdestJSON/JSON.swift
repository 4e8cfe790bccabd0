/// A JSON document as parsed by `JSONParser`.
///
/// Objects keep their members in the order written (duplicates included), so a reader can answer
/// in the same order and nothing is hashed that is only iterated. Integers that fit `Int` stay
/// exact; an integer literal beyond it is kept as written (`largeInteger`), never silently rounded.
public enum JSON: Sendable {
    case null
    case bool(Bool)
    case int(Int)
    /// An integer literal outside `Int`'s range, as written (such as `18446744073709551615`).
    case largeInteger(String)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])
}

extension JSON: Equatable {
    /// Numbers compare by value (`1` equals `1.0`); objects compare member by member, in order.
    public static func == (lhs: JSON, rhs: JSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.int(let a), .int(let b)): return a == b
        case (.largeInteger(let a), .largeInteger(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b
        case (.int(let a), .double(let b)), (.double(let b), .int(let a)): return Double(a) == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }
}

extension JSON {
    /// The value of the last member named `key` of an object (JSON's usual reading of duplicate
    /// keys); nil for anything else.
    public subscript(key: String) -> JSON? {
        guard case .object(let members) = self else { return nil }
        return members.last { $0.0 == key }?.1
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// A number as a Double, whether it was written with a fraction or not.
    public var numberValue: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        case .largeInteger(let text): return Double(text)
        default: return nil
        }
    }

    public var arrayValue: [JSON]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var objectValue: [(String, JSON)]? {
        if case .object(let value) = self { return value }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}
