import Foundation

/// A JSON document as the emulator reads and writes it.
///
/// Objects keep their keys in insertion order so answers read like Salesforce's own.
/// Bodies are parsed once with `JSONSerialization` and converted to this Sendable form.
enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.int(let a), .int(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b
        case (.int(let a), .double(let b)), (.double(let b), .int(let a)): return Double(a) == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// The value for `key` in an object (exact key), nil otherwise.
    subscript(key: String) -> JSONValue? {
        guard case .object(let pairs) = self else { return nil }
        return pairs.first { $0.0 == key }?.1
    }

    var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// A number as a Double, whether it was written with a fraction or not.
    var numberValue: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }

    var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    var objectValue: [(String, JSONValue)]? {
        if case .object(let value) = self { return value }
        return nil
    }

    var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

/// The body could not be read as JSON.
struct JSONParseFailure: Error {
    let description: String
}

extension JSONValue {
    /// Parses a complete JSON document (objects, arrays, or a bare value).
    static func parse(_ bytes: some Collection<UInt8>) throws(JSONParseFailure) -> JSONValue {
        let data = Data(bytes)
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw JSONParseFailure(description: "\(error.localizedDescription)")
        }
        return JSONValue(foundation: object)
    }

    /// Converts what `JSONSerialization` produced; booleans arrive as NSNumber of ObjC type `c`.
    init(foundation object: Any) {
        switch object {
        case let string as String:
            self = .string(string)
        case let number as NSNumber:
            let kind = number.objCType.pointee
            if kind == CChar(UInt8(ascii: "c")) {
                self = .bool(number.boolValue)
            } else if kind == CChar(UInt8(ascii: "d")) || kind == CChar(UInt8(ascii: "f")) {
                self = .double(number.doubleValue)
            } else {
                self = .int(number.intValue)
            }
        case let dictionary as [String: Any]:
            self = .object(dictionary.map { ($0.key, JSONValue(foundation: $0.value)) })
        case let array as [Any]:
            self = .array(array.map { JSONValue(foundation: $0) })
        default:
            self = .null
        }
    }
}
