import SfdestJSON

/// What an sObject Collections request asks of the org.
enum CollectionOperation: Sendable {
    /// `PATCH /composite/sobjects`: records name their Id.
    case update
    /// `POST /composite/sobjects`: records carry no Id.
    case create
    /// `PATCH /composite/sobjects/{SObject}/{ExternalIdField}`: match on that field, update or create.
    case upsert(externalField: FieldDefinition)
}

/// A record of a collection request that passed the whole-request checks.
struct IncomingRecord {
    let schema: SObjectSchema
    /// The Id exactly as the request spelled it.
    let rawId: String?
    /// Values by field, already coerced to what the field stores.
    let values: [(field: FieldDefinition, value: JSON)]

    func value(of fieldName: String) -> JSON? {
        self.values.first { $0.field.name == fieldName }?.value
    }
}

/// A write the org accepted, waiting to be applied.
private enum PlannedWrite {
    case update(id: String, changes: [String: JSON], created: Bool?)
    case create(schema: SObjectSchema, changes: [String: JSON])
}

/// A record the org refused, with the Id to report when the request named a well-formed one.
private struct RefusedWrite: Error {
    let id: String?
    let failure: RecordFailure
}

/// What a collection request did: per-record answers in request order, and how many records changed.
struct CollectionOutcome: Sendable {
    let results: [CollectionItemResult]
    let recordsWritten: Int
}

extension RecordStore {
    /// Runs a whole collection request against the org, Salesforce's way: per-record results,
    /// and with `allOrNone` either every record is written or none is.
    mutating func apply(
        _ operation: CollectionOperation,
        records: [IncomingRecord],
        allOrNone: Bool,
        lockRowRate: Double,
        now: String
    ) -> CollectionOutcome {
        var results: [CollectionItemResult] = []
        results.reserveCapacity(records.count)
        var written = 0
        if !allOrNone {
            for record in records {
                switch self.plan(record, operation, lockRowRate: lockRowRate) {
                case .success(let write):
                    results.append(self.perform(write, now: now))
                    written += 1
                case .failure(let refused):
                    results.append(CollectionItemResult(id: refused.id, failure: refused.failure))
                }
            }
            return CollectionOutcome(results: results, recordsWritten: written)
        }
        let plans = records.map { self.plan($0, operation, lockRowRate: lockRowRate) }
        let anyRefused = plans.contains { if case .failure = $0 { true } else { false } }
        for plan in plans {
            switch (plan, anyRefused) {
            case (.success(let write), false):
                results.append(self.perform(write, now: now))
                written += 1
            case (.success(let write), true):
                var rolledBack = CollectionItemResult(id: nil, failure: .rolledBack)
                if case .update(let id, _, _) = write {
                    rolledBack.id = id
                }
                results.append(rolledBack)
            case (.failure(let refused), _):
                results.append(CollectionItemResult(id: refused.id, failure: refused.failure))
            }
        }
        return CollectionOutcome(results: results, recordsWritten: written)
    }

    private mutating func perform(_ write: PlannedWrite, now: String) -> CollectionItemResult {
        switch write {
        case .update(let id, let changes, let created):
            self.update(id: id, changes: changes, now: now)
            return CollectionItemResult(id: id, failure: nil, created: created)
        case .create(let schema, let changes):
            let id = self.insert(type: schema, fields: changes, now: now)
            return CollectionItemResult(id: id, failure: nil, created: true)
        }
    }

    private func plan(
        _ record: IncomingRecord, _ operation: CollectionOperation, lockRowRate: Double
    ) -> Result<PlannedWrite, RefusedWrite> {
        switch operation {
        case .update:
            guard let rawId = record.rawId else {
                return .failure(RefusedWrite(id: nil, failure: RecordFailure(
                    statusCode: "MISSING_ARGUMENT", message: "Id not specified in an update call", fields: []
                )))
            }
            return self.planUpdate(record, rawId: rawId, created: nil, lockRowRate: lockRowRate)
        case .create:
            if record.rawId != nil {
                return .failure(RefusedWrite(id: nil, failure: RecordFailure(
                    statusCode: "INVALID_FIELD_FOR_INSERT_UPDATE", message: "cannot specify Id in an insert call",
                    fields: ["Id"]
                )))
            }
            return self.planCreate(record)
        case .upsert(let externalField):
            if externalField.type == .id {
                guard let rawId = record.rawId else { return self.planCreate(record) }
                return self.planUpdate(record, rawId: rawId, created: false, lockRowRate: lockRowRate)
            }
            guard let key = record.value(of: externalField.name)?.stringValue else {
                return .failure(RefusedWrite(id: nil, failure: RecordFailure(
                    statusCode: "MISSING_ARGUMENT", message: "\(externalField.name) not specified", fields: []
                )))
            }
            let matches = self.records(of: record.schema.name, whereExternalField: externalField.name, equals: key)
            switch matches.count {
            case 0:
                return self.planCreate(record)
            case 1:
                return self.planUpdate(record, rawId: matches[0], created: false, lockRowRate: lockRowRate)
            default:
                return .failure(RefusedWrite(id: nil, failure: RecordFailure(
                    statusCode: "DUPLICATE_EXTERNAL_ID",
                    message: "\(externalField.name): more than one record found for external id field: [\(matches.joined(separator: ", "))]",
                    fields: [externalField.name]
                )))
            }
        }
    }

    private func planUpdate(
        _ record: IncomingRecord, rawId: String, created: Bool?, lockRowRate: Double
    ) -> Result<PlannedWrite, RefusedWrite> {
        let schema = record.schema
        guard let id = RecordID.normalized(rawId), RecordID.keyPrefix(of: id) == schema.keyPrefix else {
            return .failure(RefusedWrite(id: nil, failure: RecordFailure(
                statusCode: "MALFORMED_ID", message: "\(schema.name) ID: id value of incorrect type: \(rawId)",
                fields: ["Id"]
            )))
        }
        guard let existing = self.record(id: id) else {
            return .failure(RefusedWrite(id: id, failure: RecordFailure(
                statusCode: "INVALID_CROSS_REFERENCE_KEY", message: "invalid cross reference id", fields: []
            )))
        }
        if existing.isDeleted {
            return .failure(RefusedWrite(id: id, failure: RecordFailure(
                statusCode: "ENTITY_IS_DELETED", message: "entity is deleted", fields: []
            )))
        }
        if existing.isConvertedLead {
            return .failure(RefusedWrite(id: id, failure: RecordFailure(
                statusCode: "CANNOT_UPDATE_CONVERTED_LEAD", message: "cannot reference converted lead", fields: []
            )))
        }
        if let failure = self.check(record, creating: false, recordId: id) {
            return .failure(RefusedWrite(id: id, failure: failure))
        }
        if lockRowRate > 0, Double.random(in: 0..<1) < lockRowRate {
            return .failure(RefusedWrite(id: id, failure: RecordFailure(
                statusCode: RecordFailure.unableToLockRow,
                message: "unable to obtain exclusive access to this record or 1 records: \(id)", fields: []
            )))
        }
        return .success(.update(id: id, changes: Self.changes(of: record), created: created))
    }

    private func planCreate(_ record: IncomingRecord) -> Result<PlannedWrite, RefusedWrite> {
        if let failure = self.check(record, creating: true, recordId: nil) {
            return .failure(RefusedWrite(id: nil, failure: failure))
        }
        return .success(.create(schema: record.schema, changes: Self.changes(of: record)))
    }

    private static func changes(of record: IncomingRecord) -> [String: JSON] {
        Dictionary(record.values.map { ($0.field.name, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    /// The field-level checks, in Salesforce's order: writable fields, required fields, then values.
    private func check(_ record: IncomingRecord, creating: Bool, recordId: String?) -> RecordFailure? {
        let readOnly = record.values.filter { creating ? !$0.field.createable : !$0.field.updateable }
        if !readOnly.isEmpty {
            let names = readOnly.map(\.field.name).joined(separator: ", ")
            return RecordFailure(
                statusCode: "INVALID_FIELD_FOR_INSERT_UPDATE",
                message: "Unable to create/update fields: \(names). Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                fields: readOnly.map(\.field.name)
            )
        }
        let missing: [String]
        if creating {
            missing = record.schema.fields.filter { field in
                field.isRequiredOnCreate && field.type != .boolean && (record.value(of: field.name) ?? .null) == .null
            }.map(\.name)
        } else {
            missing = record.values.filter { !$0.field.nillable && $0.field.type != .boolean && $0.value == .null }
                .map(\.field.name)
        }
        if !missing.isEmpty {
            return RecordFailure(
                statusCode: "REQUIRED_FIELD_MISSING",
                message: "Required fields are missing: [\(missing.joined(separator: ", "))]",
                fields: missing
            )
        }
        for (field, value) in record.values {
            if let failure = FieldValueRules.check(value, for: field, store: self) {
                return failure
            }
            if field.unique, let text = value.stringValue,
               let other = self.records(of: record.schema.name, whereExternalField: field.name, equals: text)
                   .first(where: { $0 != recordId }) {
                return RecordFailure(
                    statusCode: "DUPLICATE_VALUE",
                    message: "duplicate value found: \(field.name) duplicates value on record with id: \(other)",
                    fields: [field.name]
                )
            }
        }
        return nil
    }
}
