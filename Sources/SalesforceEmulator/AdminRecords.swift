import Hummingbird
import SfdestJSON

/// Admin record operations: bulk seeding, raw reads, deletes and lead conversion.
extension AdminService {
    /// Largest `count` one seeding call generates.
    static let maximumGeneratedRecords = 1_000_000

    /// `POST /emulator/records`: `{"type", "records": [...]}` or `{"type", "count": N}`; no required-field checks.
    func createRecords(_ body: JSON) throws -> Response {
        guard let typeName = body["type"]?.stringValue else { throw AdminFailure.badRequest("'type' is required") }
        let now = SalesforceTimestamp.now()
        let ids: [String]
        if let count = body["count"]?.numberValue {
            guard count >= 0, count <= Double(Self.maximumGeneratedRecords), count.rounded() == count else {
                throw AdminFailure.badRequest("'count' must be a whole number from 0 to \(Self.maximumGeneratedRecords)")
            }
            ids = try self.org.store.withLock { store throws(AdminFailure) -> [String] in
                guard let schema = store.schema(named: typeName) else { throw .badRequest("unknown sObject type '\(typeName)'") }
                return (0..<Int(count)).map { index in
                    store.insert(type: schema, fields: SeedRecords.fields(for: schema, index: index), now: now)
                }
            }
        } else if let items = body["records"]?.arrayValue {
            ids = try self.org.store.withLock { store throws(AdminFailure) -> [String] in
                guard let schema = store.schema(named: typeName) else { throw .badRequest("unknown sObject type '\(typeName)'") }
                let prepared = try items.map { item throws(AdminFailure) in try Self.fields(of: item, schema: schema) }
                return prepared.map { store.insert(type: schema, fields: $0, now: now) }
            }
        } else {
            throw AdminFailure.badRequest("give 'records' (an array of objects) or 'count'")
        }
        return Reply.json(.created, .object([("ids", .array(ids.map(JSON.string)))]))
    }

    /// Any field of the object may be set, read-only ones included; values are coerced like the API does.
    private static func fields(of item: JSON, schema: SObjectSchema) throws(AdminFailure) -> [String: JSON] {
        guard let pairs = item.objectValue else { throw .badRequest("each record must be a JSON object") }
        var fields: [String: JSON] = [:]
        for (key, value) in pairs where key != "attributes" {
            guard let field = schema.field(named: key) else {
                throw .badRequest("No such column '\(key)' on sobject of type \(schema.name)")
            }
            guard field.type != .id else { throw .badRequest("records get their Id from the org; remove '\(key)'") }
            do {
                fields[field.name] = try FieldValueRules.coerce(value, for: field)
            } catch {
                throw .badRequest(error.message)
            }
        }
        return fields
    }

    func readRecord(_ rawId: String) throws(AdminFailure) -> Response {
        let found = self.org.store.withLock { store -> JSON? in
            guard let id = RecordID.normalized(rawId), let record = store.record(id: id),
                  let schema = store.schema(named: record.type)
            else { return nil }
            return record.json(schema: schema)
        }
        guard let found else { throw .notFound("no record \(rawId)") }
        return Reply.json(.ok, found)
    }

    /// Deletes a record: later updates answer ENTITY_IS_DELETED.
    func deleteRecord(_ rawId: String) throws(AdminFailure) -> Response {
        let deleted = self.org.store.withLock { store in
            RecordID.normalized(rawId).map { store.markDeleted(id: $0) } ?? false
        }
        guard deleted else { throw .notFound("no record \(rawId)") }
        return Reply.empty(.noContent)
    }

    /// `GET /emulator/records?type=Contact[&field=Key__c&value=v]`: the Ids of the object's live
    /// records, or of those whose external Id (or unique) field holds the value.
    func findRecords(type typeName: String?, field: String?, value: String?) throws(AdminFailure) -> Response {
        guard let typeName else { throw .badRequest("'type' is required") }
        let ids = try self.org.store.withLock { store throws(AdminFailure) -> [String] in
            guard let schema = store.schema(named: typeName) else { throw .badRequest("unknown sObject type '\(typeName)'") }
            if let field {
                guard let value else { throw .badRequest("'value' is required with 'field'") }
                guard let definition = schema.field(named: field), definition.externalId || definition.unique else {
                    throw .badRequest("\(field) is not an external Id or unique field of \(schema.name)")
                }
                return store.records(of: schema.name, whereExternalField: definition.name, equals: value)
            }
            return store.records.values.filter { $0.type == schema.name && !$0.isDeleted }.map(\.id).sorted()
        }
        return Reply.json(.ok, .object([("ids", .array(ids.map(JSON.string)))]))
    }

    /// Converts a lead into a new contact, as a sales rep would: the lead becomes read-only.
    func convertLead(_ rawId: String) throws(AdminFailure) -> Response {
        let now = SalesforceTimestamp.now()
        let contactId = try self.org.store.withLock { store throws(AdminFailure) -> String in
            guard let id = RecordID.normalized(rawId), let lead = store.record(id: id) else {
                throw .notFound("no record \(rawId)")
            }
            guard lead.type == "Lead" else { throw .badRequest("only a Lead can be converted, \(id) is a \(lead.type)") }
            guard !lead.isDeleted else { throw .badRequest("lead \(id) is deleted") }
            guard !lead.isConvertedLead else {
                throw AdminFailure(status: .conflict, error: "already_converted", message: "lead \(id) is already converted")
            }
            guard let contactSchema = store.schema(named: "Contact") else { throw .badRequest("the org has no Contact") }
            var contactFields: [String: JSON] = [:]
            for name in ["FirstName", "LastName", "Email", "Phone", "Title"] {
                contactFields[name] = lead.fields[name]
            }
            let contactId = store.insert(type: contactSchema, fields: contactFields, now: now)
            store.update(
                id: id,
                changes: [
                    "IsConverted": .bool(true), "ConvertedContactId": .string(contactId),
                    "Status": .string("Closed - Converted"),
                ],
                now: now
            )
            return contactId
        }
        return Reply.json(.ok, .object([("contactId", .string(contactId))]))
    }
}
