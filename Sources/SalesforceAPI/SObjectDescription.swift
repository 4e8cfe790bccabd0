/// What `GET .../sobjects/{X}/describe` says about an object and its fields (the parts the product uses).
public struct SObjectDescription: Sendable, Equatable, Decodable {
    public var name: String
    public var label: String?
    public var fields: [SObjectFieldDescription]

    public init(name: String, label: String? = nil, fields: [SObjectFieldDescription]) {
        self.name = name
        self.label = label
        self.fields = fields
    }

    /// The field with this API name (case-insensitive, as Salesforce treats names).
    public func field(named name: String) -> SObjectFieldDescription? {
        let wanted = name.lowercased()
        return self.fields.first { $0.name.lowercased() == wanted }
    }
}

/// One field of a describe answer. Missing flags read as false.
public struct SObjectFieldDescription: Sendable, Equatable, Decodable {
    public var name: String
    public var label: String?
    /// `id`, `string`, `email`, `textarea`, `reference`, `boolean`, ...
    public var type: String
    /// Maximum length in characters for text fields (0 for others).
    public var length: Int
    public var updateable: Bool
    public var createable: Bool
    public var nillable: Bool
    public var custom: Bool
    public var externalId: Bool
    /// The field can identify a record in an upsert (Id and External ID fields).
    public var idLookup: Bool
    public var defaultedOnCreate: Bool
    public var calculated: Bool
    /// `plaintextarea`, `richtextarea`, ... when Salesforce gives it.
    public var extraTypeInfo: String?

    public init(
        name: String, label: String? = nil, type: String, length: Int = 0, updateable: Bool = true,
        createable: Bool = true, nillable: Bool = true, custom: Bool = false, externalId: Bool = false,
        idLookup: Bool = false, defaultedOnCreate: Bool = false, calculated: Bool = false, extraTypeInfo: String? = nil
    ) {
        self.name = name
        self.label = label
        self.type = type
        self.length = length
        self.updateable = updateable
        self.createable = createable
        self.nillable = nillable
        self.custom = custom
        self.externalId = externalId
        self.idLookup = idLookup
        self.defaultedOnCreate = defaultedOnCreate
        self.calculated = calculated
        self.extraTypeInfo = extraTypeInfo
    }

    /// Must be given when creating a record (`!nillable && !defaultedOnCreate`, and createable).
    public var isRequiredOnCreate: Bool { self.createable && !self.nillable && !self.defaultedOnCreate }

    private enum CodingKeys: String, CodingKey {
        case name, label, type, length, updateable, createable, nillable, custom, externalId, idLookup
        case defaultedOnCreate, calculated, extraTypeInfo
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func flag(_ key: CodingKeys) throws -> Bool { try container.decodeIfPresent(Bool.self, forKey: key) ?? false }
        self.name = try container.decode(String.self, forKey: .name)
        self.label = try container.decodeIfPresent(String.self, forKey: .label)
        self.type = try container.decode(String.self, forKey: .type)
        self.length = try container.decodeIfPresent(Int.self, forKey: .length) ?? 0
        self.updateable = try flag(.updateable)
        self.createable = try flag(.createable)
        self.nillable = try flag(.nillable)
        self.custom = try flag(.custom)
        self.externalId = try flag(.externalId)
        self.idLookup = try flag(.idLookup)
        self.defaultedOnCreate = try flag(.defaultedOnCreate)
        self.calculated = try flag(.calculated)
        self.extraTypeInfo = try container.decodeIfPresent(String.self, forKey: .extraTypeInfo)
    }
}

/// Describe answers per object type (case-insensitive), for the client's lifetime or until invalidated.
actor DescribeCache {
    private var entries: [String: SObjectDescription] = [:]

    func get(_ objectType: String) -> SObjectDescription? { self.entries[objectType.lowercased()] }

    func put(_ description: SObjectDescription, for objectType: String) {
        self.entries[objectType.lowercased()] = description
    }

    /// Forgets one object type, or every one when nil.
    func invalidate(_ objectType: String?) {
        if let objectType { self.entries[objectType.lowercased()] = nil } else { self.entries.removeAll() }
    }
}
