import SfdestJSON

/// Everything the org holds about its data: object schemas, records and external-Id lookups.
///
/// A plain value guarded by `Org`'s lock; every method runs under that lock.
struct RecordStore: Sendable {
    /// Schemas by lower-cased object name (object names are case-insensitive in URLs).
    private(set) var schemas: [String: SObjectSchema]
    /// Object name by key prefix, e.g. "003" -> "Contact".
    private let objectByKeyPrefix: [String: String]
    private(set) var records: [String: OrgRecord] = [:]
    /// Live record Ids by object, field (lower-cased) and value (lower-cased), for external-Id fields.
    private var externalIndex: [String: [String: [String: [String]]]] = [:]
    /// Two characters after the key prefix, standing for the org's instance in its Ids.
    private let instance: String
    private var nextSequence: UInt64

    init() {
        let objects = [StandardObjects.contact, StandardObjects.lead]
        self.schemas = Dictionary(uniqueKeysWithValues: objects.map { ($0.name.lowercased(), $0) })
        self.objectByKeyPrefix = Dictionary(uniqueKeysWithValues: objects.map { ($0.keyPrefix, $0.name) })
        self.instance = "8d"
        // Start somewhere that looks like a real org's sequence rather than at zero.
        self.nextSequence = UInt64.random(in: 200_000_000...900_000_000)
    }

    func schema(named name: String) -> SObjectSchema? {
        self.schemas[name.lowercased()]
    }

    /// The object whose Ids start with this key prefix.
    func objectName(forKeyPrefix prefix: Substring) -> String? {
        self.objectByKeyPrefix[String(prefix)]
    }

    func record(id: String) -> OrgRecord? {
        self.records[id]
    }

    mutating func newID(for schema: SObjectSchema) -> String {
        self.nextSequence += 1
        return RecordID.make(keyPrefix: schema.keyPrefix, instance: self.instance, sequence: self.nextSequence)
    }

    // MARK: Writes

    /// Stores a new record with the org's defaults filled in; `fields` use canonical names.
    mutating func insert(type schema: SObjectSchema, fields: [String: JSON], now: String) -> String {
        let id = self.newID(for: schema)
        var record = OrgRecord(id: id, type: schema.name, fields: fields)
        for field in schema.fields where record.fields[field.name] == nil || record.fields[field.name] == .null {
            switch field.type {
            case .boolean:
                record.fields[field.name] = .bool(false)
            case .picklist where field.defaultedOnCreate:
                record.fields[field.name] = field.picklistValues.first.map(JSON.string) ?? .null
            default:
                break
            }
        }
        record.fields["CreatedDate"] = .string(now)
        record.fields["LastModifiedDate"] = .string(now)
        record.refreshName()
        self.records[id] = record
        self.index(record, previous: nil, schema: schema)
        return id
    }

    /// Applies field changes to an existing record.
    mutating func update(id: String, changes: [String: JSON], now: String) {
        guard var record = self.records[id], let schema = self.schema(named: record.type) else { return }
        let previous = record
        for (name, value) in changes {
            record.fields[name] = value
        }
        record.fields["LastModifiedDate"] = .string(now)
        record.refreshName()
        self.records[id] = record
        self.index(record, previous: previous, schema: schema)
    }

    /// Marks a record deleted (it stays readable through the admin API, like the recycle bin).
    mutating func markDeleted(id: String) -> Bool {
        guard var record = self.records[id], let schema = self.schema(named: record.type) else { return false }
        let previous = record
        record.fields["IsDeleted"] = .bool(true)
        self.records[id] = record
        self.index(record, previous: previous, schema: schema)
        return true
    }

    // MARK: Schema changes

    mutating func addField(_ field: FieldDefinition, to objectName: String) {
        self.schemas[objectName.lowercased()]?.add(field)
    }

    /// Removes a custom field and its values from every record of the object.
    mutating func removeField(named name: String, from objectName: String) -> FieldDefinition? {
        let key = objectName.lowercased()
        guard let removed = self.schemas[key]?.remove(named: name) else { return nil }
        let type = self.schemas[key]!.name
        for (id, record) in self.records where record.type == type && record.fields[removed.name] != nil {
            self.records[id]?.fields[removed.name] = nil
        }
        self.externalIndex[type]?[removed.name.lowercased()] = nil
        return removed
    }

    // MARK: External Ids

    /// Ids of live records whose external-Id field holds `value` (compared case-insensitively).
    func records(of type: String, whereExternalField field: String, equals value: String) -> [String] {
        self.externalIndex[type]?[field.lowercased()]?[value.lowercased()] ?? []
    }

    private mutating func index(_ record: OrgRecord, previous: OrgRecord?, schema: SObjectSchema) {
        for field in schema.fields where field.externalId || field.unique {
            let fieldKey = field.name.lowercased()
            let old = previous.flatMap { $0.isDeleted ? nil : $0.fields[field.name]?.stringValue?.lowercased() }
            let new = record.isDeleted ? nil : record.fields[field.name]?.stringValue?.lowercased()
            guard old != new else { continue }
            if let old {
                self.externalIndex[schema.name, default: [:]][fieldKey, default: [:]][old]?.removeAll { $0 == record.id }
            }
            if let new {
                self.externalIndex[schema.name, default: [:]][fieldKey, default: [:]][new, default: []].append(record.id)
            }
        }
    }
}
