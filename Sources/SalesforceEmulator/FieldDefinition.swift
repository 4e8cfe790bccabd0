import SfdestJSON

/// The Salesforce field types the emulated objects use, by their describe `type` name.
enum FieldType: String, Sendable {
    case id
    case string
    case textarea
    case email
    case phone
    case picklist
    case reference
    case boolean
    case datetime

    /// Whether values are text whose length Salesforce checks.
    var isText: Bool {
        switch self {
        case .string, .textarea, .email, .phone, .picklist: return true
        case .id, .reference, .boolean, .datetime: return false
        }
    }
}

/// One field of an sObject, as describe reports it and as writes are checked against it.
struct FieldDefinition: Sendable {
    var name: String
    var label: String
    var type: FieldType
    var length: Int
    var updateable: Bool
    var createable: Bool
    var nillable: Bool
    var custom: Bool = false
    var externalId: Bool = false
    var unique: Bool = false
    var defaultedOnCreate: Bool = false
    var calculated: Bool = false
    var filterable: Bool = true
    var sortable: Bool = true
    /// The sObject a reference field points to.
    var referenceTo: [String] = []
    var picklistValues: [String] = []

    /// Salesforce requires a value on create when the field can't be null and has no default.
    var isRequiredOnCreate: Bool {
        self.createable && !self.nillable && !self.defaultedOnCreate
    }

    /// Describe's `byteLength`: three bytes per character for text, the Id width for Ids.
    var byteLength: Int {
        switch self.type {
        case .id, .reference: return 18
        case .boolean, .datetime: return 0
        default: return self.length * 3
        }
    }

    /// Describe's `extraTypeInfo`.
    var extraTypeInfo: String? {
        switch self.type {
        case .textarea: return "plaintextarea"
        case .reference: return nil
        default: return self.name == "Name" || self.name == "FirstName" || self.name == "LastName" ? "personname" : nil
        }
    }

    /// The field as one entry of describe's `fields` array.
    var describeJSON: JSON {
        .object([
            ("name", .string(self.name)),
            ("label", .string(self.label)),
            ("type", .string(self.type.rawValue)),
            ("length", .int(self.type.isText || self.type == .id || self.type == .reference ? self.length : 0)),
            ("byteLength", .int(self.byteLength)),
            ("updateable", .bool(self.updateable)),
            ("createable", .bool(self.createable)),
            ("nillable", .bool(self.nillable)),
            ("custom", .bool(self.custom)),
            ("externalId", .bool(self.externalId)),
            ("idLookup", .bool(self.externalId || self.type == .id)),
            ("unique", .bool(self.unique)),
            ("defaultedOnCreate", .bool(self.defaultedOnCreate)),
            ("calculated", .bool(self.calculated)),
            ("filterable", .bool(self.filterable)),
            ("sortable", .bool(self.sortable)),
            ("htmlFormatted", .bool(false)),
            ("extraTypeInfo", self.extraTypeInfo.map(JSON.string) ?? .null),
            ("referenceTo", .array(self.referenceTo.map(JSON.string))),
            ("picklistValues", .array(self.picklistValues.enumerated().map { index, value in
                .object([
                    ("active", .bool(true)),
                    ("defaultValue", .bool(index == 0)),
                    ("label", .string(value)),
                    ("value", .string(value)),
                ])
            })),
        ])
    }
}
