import SfdestJSON

/// The shape of one sObject in the org: its standard fields plus the custom fields added by admins.
struct SObjectSchema: Sendable {
    let name: String
    let label: String
    let labelPlural: String
    /// The 3-character prefix of every Id of this object.
    let keyPrefix: String
    private(set) var fields: [FieldDefinition]
    /// Field index by lower-cased API name: Salesforce field names are case-insensitive.
    private var indexByLowercasedName: [String: Int]

    init(name: String, label: String, labelPlural: String, keyPrefix: String, fields: [FieldDefinition]) {
        self.name = name
        self.label = label
        self.labelPlural = labelPlural
        self.keyPrefix = keyPrefix
        self.fields = fields
        self.indexByLowercasedName = [:]
        self.reindex()
    }

    /// The field with this API name, whatever its case.
    func field(named name: String) -> FieldDefinition? {
        self.indexByLowercasedName[name.lowercased()].map { self.fields[$0] }
    }

    mutating func add(_ field: FieldDefinition) {
        self.fields.append(field)
        self.reindex()
    }

    /// Removes a field; returns it, or nil when there was none by that name.
    mutating func remove(named name: String) -> FieldDefinition? {
        guard let index = self.indexByLowercasedName[name.lowercased()] else { return nil }
        let removed = self.fields.remove(at: index)
        self.reindex()
        return removed
    }

    private mutating func reindex() {
        self.indexByLowercasedName = Dictionary(
            uniqueKeysWithValues: self.fields.enumerated().map { ($0.element.name.lowercased(), $0.offset) }
        )
    }

    /// The describe answer for this object.
    var describeJSON: JSON {
        .object([
            ("name", .string(self.name)),
            ("label", .string(self.label)),
            ("labelPlural", .string(self.labelPlural)),
            ("keyPrefix", .string(self.keyPrefix)),
            ("custom", .bool(false)),
            ("createable", .bool(true)),
            ("updateable", .bool(true)),
            ("deletable", .bool(true)),
            ("queryable", .bool(true)),
            ("fields", .array(self.fields.map(\.describeJSON))),
        ])
    }
}
