import SfdestJSON

/// How the org reads and checks a value written to one field, the way Salesforce does.
enum FieldValueRules {
    /// Turns a JSON value into what the field stores, or refuses the whole request the way
    /// Salesforce's JSON deserializer does (a boolean for a text field, an object anywhere).
    static func coerce(_ value: JSON, for field: FieldDefinition) throws(RESTFailure) -> JSON {
        switch field.type {
        case .boolean:
            switch value {
            case .bool: return value
            case .null: return .bool(false)
            case .string(let text) where text.lowercased() == "true": return .bool(true)
            case .string(let text) where text.lowercased() == "false": return .bool(false)
            default: throw Self.cannotDeserialize(value, as: "boolean")
            }
        default:
            switch value {
            case .null: return .null
            // Salesforce stores an empty string as null.
            case .string(let text) where text.isEmpty: return .null
            case .string(let text) where field.type == .reference:
                return RecordID.normalized(text).map(JSON.string) ?? value
            case .string: return value
            case .int(let number): return .string(String(number))
            case .double(let number): return .string(String(number))
            default: throw Self.cannotDeserialize(value, as: "string")
            }
        }
    }

    /// The per-record error a stored value earns, if any (length, email format, Id format).
    static func check(_ value: JSON, for field: FieldDefinition, store: RecordStore) -> RecordFailure? {
        guard case .string(let text) = value else { return nil }
        if field.type.isText, text.utf16.count > field.length {
            return RecordFailure(
                statusCode: "STRING_TOO_LONG",
                message: "\(field.name): data value too large: \(text) (max length=\(field.length))",
                fields: [field.name]
            )
        }
        if field.type == .email, !Self.isEmailAddress(text) {
            return RecordFailure(
                statusCode: "INVALID_EMAIL_ADDRESS",
                message: "\(field.name): invalid email address: \(text)",
                fields: [field.name]
            )
        }
        if field.type == .reference {
            let target = field.referenceTo.first ?? "Record"
            if RecordID.normalized(text) == nil {
                return RecordFailure(
                    statusCode: "MALFORMED_ID",
                    message: "\(target) ID: id value of incorrect type: \(text)",
                    fields: [field.name]
                )
            }
            if let object = store.objectName(forKeyPrefix: RecordID.keyPrefix(of: text)), object != target {
                return RecordFailure(
                    statusCode: "FIELD_INTEGRITY_EXCEPTION",
                    message: "\(field.label): id value of incorrect type: \(text)",
                    fields: [field.name]
                )
            }
        }
        return nil
    }

    /// A pragmatic reading of Salesforce's address check: one `@`, a local part, a dotted domain, no spaces.
    static func isEmailAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !text.contains(" ") else { return false }
        let domain = parts[1]
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        return labels.count >= 2 && labels.allSatisfy { !$0.isEmpty }
    }

    private static func cannotDeserialize(_ value: JSON, as type: String) -> RESTFailure {
        let token: String
        switch value {
        case .bool(let flag): token = flag ? "VALUE_TRUE value true" : "VALUE_FALSE value false"
        case .string(let text): token = "VALUE_STRING value \(text)"
        case .array: token = "START_ARRAY value ["
        case .object: token = "START_OBJECT value {"
        default: token = "VALUE_NUMBER value \(value)"
        }
        return .jsonParser(
            "Cannot deserialize instance of \(type) from \(token) or request may be missing a required field"
        )
    }
}
