import Activation
import Delivery
import Ingest
import SalesforceAPI
import Store

/// The check before a destination sends: its configuration against a fresh describe of the
/// org's object, every problem at once.
struct EnablePreflight: Sendable {
    let services: SfdestServices

    /// The org's fields of the destination's object when the configuration fits them and (with
    /// `policies`) exports no labelled source against a data usage policy; otherwise 422
    /// `validation_failed` listing every problem and every violation.
    func orgFields(for destination: Destination, policies: Bool = true) async throws -> [SalesforceField] {
        let checked = try await self.check(destination, fresh: true)
        let violations = policies ? try await PolicyCheck.violations(destination, store: self.services.store) : []
        guard checked.problems.isEmpty, violations.isEmpty else {
            throw APIError.refused(checked.problems, violations: violations, destination: destination, summary: "the destination cannot be enabled")
        }
        return checked.fields
    }

    /// Every problem of the destination's configuration against the org's fields, with those
    /// fields: a fresh describe (`fresh`, as enabling does) or the cached one (a draft checked
    /// as it is typed must not cost a describe per keystroke).
    func check(_ destination: Destination, fresh: Bool) async throws -> (fields: [SalesforceField], problems: [ConfigurationProblem]) {
        var problems: [ConfigurationProblem] = []
        var mappings: [Mapping] = []
        var audiences: [AudienceSchedule] = []
        do { mappings = try destination.parsedMappings() } catch { problems += error.problems.map(Self.located("mappings")) }
        do { audiences = try destination.parsedAudiences() } catch { problems += error.problems.map(Self.located("segments")) }
        let fields = try await self.describe(destination, fresh: fresh)
        if problems.isEmpty {
            problems = Preflight.problems(objectType: destination.objectType, operation: destination.operation, mappings: mappings, audiences: audiences, orgFields: fields)
                .map(Self.locatedInList)
        }
        return (fields, problems)
    }

    /// The object's fields as the org describes them (now, when `fresh`: the cached describe is
    /// dropped first).
    func describe(_ destination: Destination, fresh: Bool = true) async throws -> [SalesforceField] {
        try await self.describeObject(destination, fresh: fresh).fields.map {
            SalesforceField(
                name: $0.name, type: $0.type, length: $0.length, updateable: $0.updateable, nillable: $0.nillable, custom: $0.custom,
                externalId: $0.externalId, idLookup: $0.idLookup
            )
        }
    }

    /// The org's describe of the destination's object, Salesforce's refusals as the API's errors.
    func describeObject(_ destination: Destination, fresh: Bool) async throws -> SObjectDescription {
        var loginURL: String?
        do {
            let client = try await self.services.clients.client(connectionId: destination.connectionId)
            loginURL = client.loginURL
            if fresh { await client.invalidateDescribe(destination.objectType.rawValue) }
            return try await client.describe(destination.objectType.rawValue)
        } catch let error as SalesforceError {
            throw APIError.salesforce(error, loginURL: loginURL)
        }
    }

    /// The plan locates a problem by index only (`[2].target`); say which list it is in.
    private static func locatedInList(_ problem: ConfigurationProblem) -> ConfigurationProblem {
        guard problem.field.hasPrefix("[") else { return problem }
        let isMapping = problem.field.hasSuffix(".source") || problem.field.hasSuffix(".target")
        return ConfigurationProblem(field: (isMapping ? "mappings" : "segments") + problem.field, message: problem.message)
    }

    /// A problem of a stored list, located under the list's name (`mappings[2].target`).
    static func located(_ list: String) -> (ConfigurationProblem) -> ConfigurationProblem {
        { ConfigurationProblem(field: list + $0.field, message: $0.message) }
    }
}
