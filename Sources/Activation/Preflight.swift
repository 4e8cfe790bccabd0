/// The checks before a destination is enabled, against the org's describe of its object: every
/// problem at once, so a user fixes them in one go instead of meeting them as failed records.
public enum Preflight {
    /// Problems with a destination's configuration against the org's fields. Empty: ready to enable.
    public static func problems(
        objectType: SalesforceObjectType,
        mappings: [Mapping],
        audiences: [AudienceSchedule],
        orgFields: [SalesforceField]
    ) -> [ConfigurationProblem] {
        var problems: [ConfigurationProblem] = []
        do {
            _ = try ActivationPlan(objectType: objectType, mappings: mappings, audiences: audiences)
        } catch {
            problems += error.problems
        }
        if audiences.isEmpty {
            problems.append(ConfigurationProblem(field: "segments", message: "no audience is scheduled: add at least one with PUT /v1/destinations/{id}/segments"))
        }
        let byName = Dictionary(orgFields.map { ($0.name.lowercased(), $0) }, uniquingKeysWith: { first, _ in first })
        let object = objectType.rawValue
        for mapping in mappings {
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
}
