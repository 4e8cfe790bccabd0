import SfdestJSON

/// A JSON document as the emulator reads and writes it: the shared parser's value. Objects keep
/// their keys in insertion order so answers read like Salesforce's own.
typealias JSONValue = JSON

/// The body could not be read as JSON.
struct JSONParseFailure: Error {
    let description: String
}

extension JSON {
    /// Parses a complete JSON document (objects, arrays, or a bare value).
    static func parse(_ bytes: some Sequence<UInt8>) throws(JSONParseFailure) -> JSONValue {
        do {
            return try JSONParser.parse(bytes)
        } catch {
            throw JSONParseFailure(description: error.description)
        }
    }
}
