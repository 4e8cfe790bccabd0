/// One field's value as JSON carries it. `.null` clears the field in Salesforce.
public enum FieldValue: Sendable, Hashable {
    case string(String)
    case number(Double)
    case integer(Int)
    case bool(Bool)
    case null

    /// The text of a string value, nil otherwise.
    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }
}

extension FieldValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension FieldValue: Decodable {
    /// Reads a JSON scalar. Objects and arrays (compound fields such as addresses) are not field
    /// values here: they throw, and ``SObjectRecordFields`` skips them.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let flag = try? container.decode(Bool.self) {
            self = .bool(flag)
        } else if let whole = try? container.decode(Int.self) {
            self = .integer(whole)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else {
            self = .string(try container.decode(String.self))
        }
    }
}

/// A record's fields as `GET .../sobjects/{X}/{id}` returns them: scalar fields only
/// (`attributes` and compound fields are left out).
struct SObjectRecordFields: Decodable {
    var fields: [String: FieldValue]

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: DynamicCodingKey.self)
        var fields: [String: FieldValue] = [:]
        for key in container.allKeys where key.stringValue != "attributes" {
            if let value = try? container.decode(FieldValue.self, forKey: key) {
                fields[key.stringValue] = value
            }
        }
        self.fields = fields
    }
}
