/// The checks before a destination is enabled, against the org's describe of its object: every
/// problem at once, so a user fixes them in one go instead of meeting them as failed records.
public enum Preflight {
    /// Problems with a destination's configuration against the org's fields. Empty: ready to enable.
    public static func problems(
        objectType: SalesforceObjectType,
        operation: DestinationOperation = .update,
        mappings: [Mapping],
        audiences: [AudienceSchedule],
        orgFields: [SalesforceField]
    ) -> [ConfigurationProblem] {
        var problems: [ConfigurationProblem] = []
        do {
            _ = try ActivationPlan(objectType: objectType, operation: operation, mappings: mappings, audiences: audiences)
        } catch {
            problems += error.problems
        }
        if audiences.isEmpty {
            problems.append(ConfigurationProblem(field: "segments", message: "no audience is scheduled: add at least one with PUT /v1/destinations/{id}/segments"))
        }
        let byName = Dictionary(orgFields.map { ($0.name.lowercased(), $0) }, uniquingKeysWith: { first, _ in first })
        let object = objectType.rawValue
        for mapping in mappings {
            if case .externalId(let name) = mapping.target {
                problems += Self.externalIdProblems(name, object: object, field: byName[name.lowercased()])
                continue
            }
            guard case .field(let name) = mapping.target else { continue }
            guard let field = byName[name.lowercased()] else {
                problems.append(ConfigurationProblem(field: "mappings", message: "\(object) has no field \(name) in this org: check the API name (Setup > Object Manager > \(object) > Fields)"))
                continue
            }
            if field.name != name {
                problems.append(ConfigurationProblem(field: "mappings", message: "\(name) must be spelled as its API name \(field.name)"))
            }
            if !field.updateable {
                problems.append(ConfigurationProblem(field: "mappings", message: "\(object).\(field.name) is not updateable (read-only, calculated, or hidden from the integration user's profile)"))
            }
        }
        for fieldName in Set(audiences.map(\.fieldName)).sorted() {
            let segments = audiences.filter { $0.fieldName == fieldName }.map(\.segmentId).sorted().joined(separator: ", ")
            guard let field = byName[fieldName.lowercased()] else {
                problems.append(ConfigurationProblem(field: "segments", message: "Mapping ID \(fieldName) (audiences \(segments)) is not a field of \(object) in this org: create a custom field of type Text Area (Long) named \(fieldName.dropLast(3))"))
                continue
            }
            if !field.isLongTextArea {
                problems.append(ConfigurationProblem(field: "segments", message: "Mapping ID \(field.name) is a \(field.type) field of length \(field.length); audience statuses need a Text Area (Long) field"))
            }
            if !field.updateable {
                problems.append(ConfigurationProblem(field: "segments", message: "Mapping ID \(field.name) is not updateable by the integration user: check its field-level security"))
            }
        }
        return problems
    }

    /// An upsert's external Id field must exist, be spelled as its API name, be marked External ID
    /// (describe's `externalId` and `idLookup`) and be writable, since the upsert sets it on create.
    static func externalIdProblems(_ name: String, object: String, field: SalesforceField?) -> [ConfigurationProblem] {
        guard let field else {
            return [ConfigurationProblem(field: "mappings", message: "\(object) has no field \(name) in this org: create a Text field marked External ID (and Unique) named \(name.hasSuffix("__c") ? String(name.dropLast(3)) : name) (Setup > Object Manager > \(object) > Fields & Relationships)")]
        }
        var problems: [ConfigurationProblem] = []
        if field.name != name {
            problems.append(ConfigurationProblem(field: "mappings", message: "\(name) must be spelled as its API name \(field.name)"))
        }
        if !field.externalId || !field.idLookup {
            problems.append(ConfigurationProblem(field: "mappings", message: "\(object).\(field.name) is not an External ID field, so an upsert cannot match records by it: edit the field and tick External ID (and Unique, so no two records share a value)"))
        }
        if !field.updateable {
            problems.append(ConfigurationProblem(field: "mappings", message: "\(object).\(field.name) is not writable by the integration user: the upsert sets it on the records it creates; check its field-level security"))
        }
        return problems
    }
}
