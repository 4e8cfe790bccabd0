import Foundation
import SfdestJSON

/// A scalar value of a profile attribute or of a Salesforce field, as JSON has them.
public enum FieldValue: Hashable, Sendable {
    case string(String)
    case integer(Int64)
    case double(Double)
    case bool(Bool)
    case null

    /// A JSON scalar as a field value; nil for arrays, objects and integers beyond 64 bits (which
    /// a double would round).
    public init?(json: JSON) {
        switch json {
        case .string(let text): self = .string(text)
        case .int(let number): self = .integer(Int64(number))
        case .double(let number): self = .double(number)
        case .bool(let flag): self = .bool(flag)
        case .null: self = .null
        case .largeInteger, .array, .object: return nil
        }
    }

    /// The text a Salesforce text field would hold for this value; nil for null.
    public var text: String? {
        switch self {
        case .string(let text): return text
        case .integer(let number): return String(number)
        case .double(let number):
            return number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        case .bool(let flag): return flag ? "true" : "false"
        case .null: return nil
        }
    }

    /// Null, or text with nothing but whitespace.
    public var isEmpty: Bool {
        guard let text = self.text else { return true }
        return text.allSatisfy(\.isWhitespace)
    }
}
