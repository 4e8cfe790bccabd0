/// One record to write with sObject Collections: its object type, its Id (for updates) and the
/// fields to set, in the order they are sent.
public struct SObjectRecord: Sendable, Hashable {
    /// One field to set.
    public struct Field: Sendable, Hashable {
        public var name: String
        public var value: FieldValue

        public init(_ name: String, _ value: FieldValue) {
            self.name = name
            self.value = value
        }
    }

    /// The sObject API name (`Contact`, `Lead`), sent as `attributes.type`.
    public var objectType: String
    /// The record Id (15 or 18 characters) for updates; nil for creates and upserts.
    public var id: String?
    public var fields: [Field]

    public init(objectType: String, id: String? = nil, fields: [Field] = []) {
        self.objectType = objectType
        self.id = id
        self.fields = fields
    }

    /// A record from name/value pairs: `SObjectRecord(objectType: "Contact", id: id, ["LastName": "Lovelace"])`.
    public init(objectType: String, id: String? = nil, _ pairs: KeyValuePairs<String, FieldValue>) {
        self.init(objectType: objectType, id: id, fields: pairs.map { Field($0.key, $0.value) })
    }

    /// The value of the first field with this name.
    public subscript(field name: String) -> FieldValue? {
        self.fields.first { $0.name == name }?.value
    }
}
