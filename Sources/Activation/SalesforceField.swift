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
    /// Marked External ID in the org: an upsert can match records by it.
    public var externalId: Bool
    /// Describe's `idLookup`: the field can identify a record (Id, external Ids).
    public var idLookup: Bool

    public init(
        name: String, type: String, length: Int, updateable: Bool, nillable: Bool, custom: Bool,
        externalId: Bool = false, idLookup: Bool = false
    ) {
        self.name = name
        self.type = type
        self.length = length
        self.updateable = updateable
        self.nillable = nillable
        self.custom = custom
        self.externalId = externalId
        self.idLookup = idLookup
    }

    private enum CodingKeys: String, CodingKey { case name, type, length, updateable, nillable, custom, externalId, idLookup }

    /// Reads fields stored before `externalId` and `idLookup` were kept as false.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.name = try container.decode(String.self, forKey: .name)
        self.type = try container.decode(String.self, forKey: .type)
        self.length = try container.decode(Int.self, forKey: .length)
        self.updateable = try container.decode(Bool.self, forKey: .updateable)
        self.nillable = try container.decode(Bool.self, forKey: .nillable)
        self.custom = try container.decode(Bool.self, forKey: .custom)
        self.externalId = try container.decodeIfPresent(Bool.self, forKey: .externalId) ?? false
        self.idLookup = try container.decodeIfPresent(Bool.self, forKey: .idLookup) ?? false
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
