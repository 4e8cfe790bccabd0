import SfdestJSON

/// `POST /emulator/fields`: a custom field an admin adds to an object, checked as Salesforce's setup does.
struct CustomFieldRequest {
    static let keys: Set<String> = ["type", "name", "fieldType", "length", "externalId", "unique", "label"]

    /// Reads and checks the request; the caller still checks the name is free on the object.
    static func field(from body: JSON) throws(AdminFailure) -> (object: String, field: FieldDefinition) {
        guard let pairs = body.objectValue else { throw .badRequest("body must be a JSON object") }
        if let unknown = pairs.first(where: { !Self.keys.contains($0.0) }) {
            throw .badRequest("unknown key '\(unknown.0)'; known: \(Self.keys.sorted().joined(separator: ", "))")
        }
        guard let object = body["type"]?.stringValue else { throw .badRequest("'type' (the sObject) is required") }
        guard let name = body["name"]?.stringValue else { throw .badRequest("'name' is required") }
        try Self.checkName(name)
        let fieldTypeName = body["fieldType"]?.stringValue ?? "textarea"
        let externalId = body["externalId"]?.boolValue ?? false
        let unique = body["unique"]?.boolValue ?? false
        let requestedLength = try Self.length(body["length"])
        let base = String(name.dropLast(3))
        let label = body["label"]?.stringValue ?? base.replacingUnderscoresWithSpaces()
        var field: FieldDefinition
        switch fieldTypeName {
        case "textarea":
            let length = requestedLength ?? 32_768
            guard (256...131_072).contains(length) else {
                throw .badRequest("a Long Text Area length must be from 256 to 131072, not \(length)")
            }
            guard !externalId && !unique else { throw .badRequest("a Long Text Area can't be an external Id or unique") }
            field = FieldDefinition(name: name, label: label, type: .textarea, length: length,
                                    updateable: true, createable: true, nillable: true, custom: true,
                                    filterable: false, sortable: false)
        case "string":
            let length = requestedLength ?? 255
            guard (1...255).contains(length) else { throw .badRequest("a Text length must be from 1 to 255, not \(length)") }
            field = FieldDefinition(name: name, label: label, type: .string, length: length,
                                    updateable: true, createable: true, nillable: true, custom: true)
        case "email":
            field = FieldDefinition(name: name, label: label, type: .email, length: 80,
                                    updateable: true, createable: true, nillable: true, custom: true)
        case "boolean":
            guard !externalId && !unique else { throw .badRequest("a Checkbox can't be an external Id or unique") }
            field = FieldDefinition(name: name, label: label, type: .boolean, length: 0,
                                    updateable: true, createable: true, nillable: false, custom: true,
                                    defaultedOnCreate: true)
        default:
            throw .badRequest("unsupported fieldType '\(fieldTypeName)'; use textarea, string, email or boolean")
        }
        field.externalId = externalId
        field.unique = unique
        return (object, field)
    }

    /// Salesforce's rules for a custom field API name: `Base__c`, the base at most 40 characters,
    /// starting with a letter, letters, digits and single underscores, not ending with one.
    static func checkName(_ name: String) throws(AdminFailure) {
        guard name.hasSuffix("__c") else { throw .badRequest("custom field name '\(name)' must end with __c") }
        let base = name.dropLast(3)
        guard !base.isEmpty, base.count <= 40 else {
            throw .badRequest("custom field name '\(name)' must have 1 to 40 characters before __c")
        }
        guard let first = base.first, first.isASCII, first.isLetter else {
            throw .badRequest("custom field name '\(name)' must start with a letter")
        }
        guard base.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw .badRequest("custom field name '\(name)' may only contain letters, digits and underscores")
        }
        guard !base.contains("__"), !base.hasSuffix("_") else {
            throw .badRequest("custom field name '\(name)' can't contain two consecutive underscores or end with one")
        }
    }

    private static func length(_ value: JSON?) throws(AdminFailure) -> Int? {
        guard let value, !value.isNull else { return nil }
        guard let number = value.numberValue, number.rounded() == number else {
            throw .badRequest("'length' must be a whole number")
        }
        return Int(number)
    }
}

private extension String {
    func replacingUnderscoresWithSpaces() -> String {
        String(self.map { $0 == "_" ? " " : $0 })
    }
}
