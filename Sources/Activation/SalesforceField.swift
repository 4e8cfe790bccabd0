/// What the org's describe says about one field, as far as activation needs it.
public struct SalesforceField: Hashable, Sendable, Codable {
    public var name: String
    /// Salesforce's field type: `string`, `textarea`, `email`, `phone`, `boolean`, `reference`, ...
    public var type: String
    /// Maximum length in characters, for text types.
    public var length: Int
    public var updateable: Bool
    public var nillable: Bool
    public var custom: Bool

    public init(name: String, type: String, length: Int, updateable: Bool, nillable: Bool, custom: Bool) {
        self.name = name
        self.type = type
        self.length = length
        self.updateable = updateable
        self.nillable = nillable
        self.custom = custom
    }

    /// Types whose values are text with a maximum length.
    public var isText: Bool {
        ["string", "textarea", "email", "phone", "url", "picklist", "multipicklist", "combobox", "encryptedstring"].contains(self.type)
    }

    /// A Long Text Area custom field: the only kind that can hold audience statuses.
    public var isLongTextArea: Bool { self.type == "textarea" && self.length > 255 }
}

extension SalesforceObjectType {
    /// Fields an update may never leave empty on this object, from the contract.
    public var requiredFields: [String] {
        switch self {
        case .contact: return ["LastName"]
        case .lead: return ["LastName", "Company"]
        }
    }
}
