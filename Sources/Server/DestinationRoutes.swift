import Activation
import Foundation
import Hummingbird
import Logging
import SfdestBasics
import SfdestJSON
import Store

/// `/v1/destinations`: one Salesforce object of one connection, from draft to enabled.
struct DestinationRoutes: Sendable {
    let services: SfdestServices
    let settings: ServerSettings
    let logger: Logger

    /// The body of `POST /v1/destinations`.
    struct CreateRequest: Decodable, Sendable {
        var name: String?
        var description: String?
        var connectionId: String?
        var objectType: String?
        var operation: String?
        var convertedLeads: String?
        var marketingActions: [String]?
        var consentPath: String?
        /// `bulkThreshold`: whether the body has it, whether it is null, its number.
        var bulkThreshold: (given: Bool, isNull: Bool, value: Double?) = (false, false, nil)

        enum CodingKeys: String, CodingKey {
            case name, description, connectionId, objectType, operation, convertedLeads, bulkThreshold, marketingActions, consentPath
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.lenientContainer(keyedBy: CodingKeys.self)
            self.name = try container.lenient(String.self, forKey: .name, decoder: decoder)
            self.description = try container.lenient(String.self, forKey: .description, decoder: decoder)
            self.connectionId = try container.lenient(String.self, forKey: .connectionId, decoder: decoder)
            self.objectType = try container.lenient(String.self, forKey: .objectType, decoder: decoder)
            self.operation = try container.lenient(String.self, forKey: .operation, decoder: decoder)
            self.convertedLeads = try container.lenient(String.self, forKey: .convertedLeads, decoder: decoder)
            self.marketingActions = try container.lenient([String].self, forKey: .marketingActions, decoder: decoder)
            self.consentPath = try container.lenient(String.self, forKey: .consentPath, decoder: decoder)
            self.bulkThreshold = (
                container.contains(.bulkThreshold), (try? container.decodeNil(forKey: .bulkThreshold)) ?? false,
                try container.lenient(Double.self, forKey: .bulkThreshold, decoder: decoder)
            )
        }
    }

    func register(on group: RouterGroup<SfdestRequestContext>) {
        group.post("destinations") { request, _ in try await self.create(request) }
        group.get("destinations") { _, _ in try await self.list() }
        group.get("destinations/{id}") { _, context in try await self.show(context.parameters.require("id")) }
        group.post("destinations/{id}/enable") { _, context in try await self.enable(context.parameters.require("id")) }
        group.post("destinations/{id}/disable") { _, context in try await self.disable(context.parameters.require("id")) }
        group.delete("destinations/{id}") { _, context in try await self.delete(context.parameters.require("id")) }
    }

    func create(_ request: Request) async throws -> Response {
        let body = try await RequestJSON.decode(CreateRequest.self, from: request, limit: self.settings.maxConfigurationBodyBytes)
        var problems: [ConfigurationProblem] = []
        let name = body.name?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if name.isEmpty {
            problems.append(.init(field: "name", message: "required: a name to recognise the destination by, such as Sales contacts"))
        }
        let connectionId = body.connectionId?.trimmingCharacters(in: .whitespaces) ?? ""
        if connectionId.isEmpty {
            problems.append(.init(field: "connectionId", message: "required: the id of a connection (GET /v1/connections lists them)"))
        } else if try await self.services.store.connection(id: connectionId) == nil {
            problems.append(.init(field: "connectionId", message: "no connection \(connectionId): create one with POST /v1/connections or list them with GET /v1/connections"))
        }
        let objectType = body.objectType.flatMap(SalesforceObjectType.init(rawValue:))
        if objectType == nil {
            let given = body.objectType.map { "'\($0)' is not supported: " } ?? "required: "
            problems.append(.init(field: "objectType", message: given + "use Contact or Lead"))
        }
        let operation = body.operation.map(DestinationOperation.init(rawValue:)) ?? .update
        if operation == nil {
            problems.append(.init(field: "operation", message: "'\(body.operation ?? "")' is not an operation: use update (records addressed by their Salesforce Id) or upsert (matched, or created, by an external Id)"))
        }
        let convertedLeads = body.convertedLeads.map(ConvertedLeadHandling.init(rawValue:)) ?? .report
        if convertedLeads == nil {
            problems.append(.init(field: "convertedLeads", message: "'\(body.convertedLeads ?? "")' is not a choice: use report (a converted lead's change fails with CANNOT_UPDATE_CONVERTED_LEAD) or followContact (it goes to the lead's Contact)"))
        } else if convertedLeads == .followContact, objectType == .contact {
            problems.append(.init(field: "convertedLeads", message: "followContact is for Lead destinations: a Contact destination meets no converted leads"))
        }
        let bulkThreshold = BulkThresholdSetting.read(
            given: body.bulkThreshold.given, isNull: body.bulkThreshold.isNull, value: body.bulkThreshold.value,
            current: Destination.defaultBulkThreshold, problems: &problems
        )
        let marketingActions = Self.marketingActions(body.marketingActions, problems: &problems)
        let consentPath = Self.consentPath(body.consentPath, problems: &problems)
        guard problems.isEmpty, let objectType, let operation, let convertedLeads else {
            throw APIError.problems(problems, code: "invalid_request", summary: "the destination is not valid")
        }
        let now = Date()
        let destination = Destination(
            id: generateID(prefix: "dest_"), name: name, description: body.description ?? "", connectionId: connectionId,
            objectType: objectType, operation: operation, convertedLeads: convertedLeads, status: .draft, createdAt: now, updatedAt: now,
            bulkThreshold: bulkThreshold, marketingActions: marketingActions, consentPath: consentPath
        )
        try await self.services.store.saveDestination(destination)
        try await self.services.audit(.destinationCreate, destination.id, after: destinationAuditJSON(destination))
        self.logger.notice("destination created", metadata: ["destination": "\(destination.id)", "objectType": "\(objectType.rawValue)"])
        return try await destinationJSON(destination, services: self.services).response(.created)
    }

    /// The destination's marketing actions: the default when none are given. A Salesforce org is
    /// a third party, so `exportToThirdParty` is always one of them (a list without it would
    /// let labelled data out past the policies that guard that action).
    static func marketingActions(_ names: [String]?, problems: inout [ConfigurationProblem]) -> [MarketingAction] {
        guard let names else { return MarketingAction.defaults }
        var actions: [MarketingAction] = []
        for (index, name) in names.enumerated() {
            guard let action = MarketingAction(rawValue: name) else {
                let known = MarketingAction.allCases.map(\.rawValue).joined(separator: ", ")
                problems.append(.init(field: "marketingActions[\(index)]", message: "'\(name)' is not a marketing action: use \(known)"))
                continue
            }
            if !actions.contains(action) { actions.append(action) }
        }
        if !names.contains(MarketingAction.exportToThirdParty.rawValue) {
            problems.append(.init(field: "marketingActions", message: "a Salesforce destination always exports to a third party: keep exportToThirdParty in the list, and add the others it does (such as crossSiteTargeting)"))
        }
        return actions
    }

    /// The attribute the destination reads consent from (`xdm:` optional): the default when none
    /// is given.
    static func consentPath(_ text: String?, problems: inout [ConfigurationProblem]) -> String {
        guard let text else { return Governance.defaultConsentPath }
        let path = text.hasPrefix("xdm:") ? String(text.dropFirst(4)) : text
        guard case .attribute? = try? MappingSource(text: "xdm:" + path) else {
            problems.append(.init(field: "consentPath", message: "'\(text)' is not an attribute path: use a dotted XDM path such as consents.share.val"))
            return Governance.defaultConsentPath
        }
        return path
    }

    func list() async throws -> Response {
        var items: [JSON] = []
        for destination in try await self.services.store.destinations() {
            items.append(try await destinationJSON(destination, services: self.services))
        }
        return JSON.array(items).response()
    }

    func show(_ id: String) async throws -> Response {
        try await destinationJSON(try await self.load(id), services: self.services).response()
    }

    /// Checks the configuration against the org, then starts sending: a backfill of stored
    /// profiles, and every new change from then on.
    func enable(_ id: String) async throws -> Response {
        let before = try await self.load(id)
        var destination = before
        destination.orgFields = try await EnablePreflight(services: self.services).orgFields(for: destination)
        destination.status = .enabled
        destination.deliveryError = nil
        destination.updatedAt = Date()
        try await self.services.store.saveDestination(destination)
        try await self.services.audit(.destinationEnable, id, before: destinationAuditJSON(before), after: destinationAuditJSON(destination))
        try await self.activate(destination)
        self.logger.notice("destination enabled", metadata: ["destination": "\(id)"])
        return try await destinationJSON(destination, services: self.services).response()
    }

    func disable(_ id: String) async throws -> Response {
        let before = try await self.load(id)
        var destination = before
        destination.status = .disabled
        destination.updatedAt = Date()
        try await self.services.store.saveDestination(destination)
        try await self.services.audit(.destinationDisable, id, before: destinationAuditJSON(before), after: destinationAuditJSON(destination))
        try await self.services.ingest.reloadDestinations()
        await self.services.signals.publish(.destinationChanged(id))
        self.logger.notice("destination disabled", metadata: ["destination": "\(id)"])
        return try await destinationJSON(destination, services: self.services).response()
    }

    /// Deletes a destination that is not enabled, with its queue, runs and failures: 409 while
    /// enabled (disable it first, so nothing is in flight).
    func delete(_ id: String) async throws -> Response {
        let before = try await self.load(id)
        let deleted: Bool
        do {
            deleted = try await self.services.store.deleteDestination(id: id)
        } catch let conflict as StoreConflict {
            throw APIError(status: .conflict, code: "destination_enabled", message: conflict.description)
        }
        guard deleted else { throw APIError.destinationNotFound(id) }
        try await self.services.audit(.destinationDelete, id, before: destinationAuditJSON(before))
        await self.services.delivery.destinationChanged(id)
        await self.services.signals.publish(.destinationChanged(id))
        self.logger.notice("destination deleted", metadata: ["destination": "\(id)"])
        return Response(status: .noContent)
    }

    /// After an enabled destination's settings were saved: ingest uses them, stored profiles are
    /// evaluated again, delivery resumes; in this process now, in the others sharing the store
    /// when the signals reach them. The connection's shared pause ends before the others hear of
    /// the change, so none of them adopts it again afterwards.
    func activate(_ destination: Destination) async throws {
        try await self.services.ingest.reloadDestinations()
        await self.services.delivery.destinationChanged(destination.id)
        await self.services.signals.publish(.destinationChanged(destination.id))
        try await self.services.ingest.startBackfill(destinationId: destination.id)
        await self.services.signals.publish(.backfillStarted(destination.id))
    }

    func load(_ id: String) async throws -> Destination {
        guard let destination = try await self.services.store.destination(id: id) else { throw APIError.destinationNotFound(id) }
        return destination
    }
}
