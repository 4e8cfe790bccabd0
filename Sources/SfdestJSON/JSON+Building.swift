import Foundation

/// Building documents in code: `["status": "ok", "count": .int(n), "items": .array(items)]`.
/// A dictionary literal keeps its keys in the order written.
extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) { self = .object(elements) }
}

extension JSON {
    /// A string, or null (an answer shows a missing value as `null`, not as a missing key).
    public static func string(_ text: String?) -> JSON { text.map(JSON.string) ?? .null }

    /// An ISO 8601 time in UTC (`2026-11-20T10:00:00Z`), or null.
    public static func date(_ date: Date?) -> JSON {
        date.map { .string($0.formatted(.iso8601)) } ?? .null
    }
}
