import SfdestJSON

extension RecordStore {
    /// Reads the `records` of a collection request, refusing the whole request as Salesforce does
    /// when a record names no known object or a field its object lacks.
    ///
    /// - Parameter object: the object named by the URL (upsert), used when a record has no `attributes.type`.
    func incomingRecords(_ items: [JSON], object: SObjectSchema?) throws(RESTFailure) -> [IncomingRecord] {
        var incoming: [IncomingRecord] = []
        incoming.reserveCapacity(items.count)
        for item in items {
            guard let pairs = item.objectValue else {
                throw .jsonParser("Cannot deserialize instance of SObject from a value that is not an object")
            }
            let schema = try self.schema(of: pairs, default: object)
            var rawId: String?
            var values: [(field: FieldDefinition, value: JSON)] = []
            values.reserveCapacity(pairs.count)
            for (key, value) in pairs {
                if key == "attributes" { continue }
                if key.lowercased() == "id" {
                    guard case .string(let text) = value else {
                        if value == .null { continue }
                        throw .jsonParser("Cannot deserialize instance of id from \(value) value")
                    }
                    rawId = text
                    continue
                }
                guard let field = schema.field(named: key) else {
                    throw .invalidField(key, on: schema.name)
                }
                values.append((field, try FieldValueRules.coerce(value, for: field)))
            }
            incoming.append(IncomingRecord(schema: schema, rawId: rawId, values: values))
        }
        return incoming
    }

    private func schema(of pairs: [(String, JSON)], default object: SObjectSchema?) throws(RESTFailure) -> SObjectSchema {
        let attributes = pairs.first { $0.0 == "attributes" }?.1
        guard let typeName = attributes?["type"]?.stringValue else {
            if let object { return object }
            throw RESTFailure(
                status: .badRequest, errorCode: "INVALID_TYPE",
                message: "Must specify a type in the attributes of each record"
            )
        }
        guard let schema = self.schema(named: typeName) else {
            throw RESTFailure(
                status: .badRequest, errorCode: "INVALID_TYPE",
                message: "sObject type '\(typeName)' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name."
            )
        }
        if let object, object.name != schema.name {
            throw RESTFailure(
                status: .badRequest, errorCode: "INVALID_TYPE",
                message: "Record type \(schema.name) does not match the upsert sObject \(object.name)"
            )
        }
        return schema
    }
}
