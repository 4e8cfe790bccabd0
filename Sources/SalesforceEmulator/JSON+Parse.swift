import SfdestJSON

/// The body could not be read as JSON.
struct JSONParseFailure: Error {
    let description: String
}

extension JSON {
    /// Parses a complete JSON document (objects, arrays, or a bare value).
    static func parse(_ bytes: some Sequence<UInt8>) throws(JSONParseFailure) -> JSON {
        do {
            return try JSONParser.parse(bytes)
        } catch {
            throw JSONParseFailure(description: error.description)
        }
    }
}
