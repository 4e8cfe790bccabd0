import Activation
import Foundation
import Hummingbird
import Ingest
import Logging
import Store

/// `PUT /v1/destinations/{id}/mappings` and `/segments`: what a destination sends. Every problem is
/// reported at once; an enabled destination is checked against the org before the change is saved.
struct ActivationSettingsRoutes: Sendable {
    let destinations: DestinationRoutes

    /// One line of the mappings body.
    struct MappingItem: Decodable, Sendable {
        var source: String?
        var target: String?

        enum CodingKeys: String, CodingKey { case source, target }

        init(from decoder: any Decoder) throws {
            let container = try decoder.lenientContainer(keyedBy: CodingKeys.self)
            self.source = try container.lenient(String.self, forKey: .source, decoder: decoder)
            self.target = try container.lenient(String.self, forKey: .target, decoder: decoder)
        }
    }

    /// One audience of the segments body.
    struct SegmentItem: Decodable, Sendable {
        var segmentId: String?
        var mappingId: String?
        var startDate: String?
        var endDate: String?

        enum CodingKeys: String, CodingKey { case segmentId, mappingId, startDate, endDate }

        init(from decoder: any Decoder) throws {
            let container = try decoder.lenientContainer(keyedBy: CodingKeys.self)
            self.segmentId = try container.lenient(String.self, forKey: .segmentId, decoder: decoder)
            self.mappingId = try container.lenient(String.self, forKey: .mappingId, decoder: decoder)
            self.startDate = try container.lenient(String.self, forKey: .startDate, decoder: decoder)
            self.endDate = try container.lenient(String.self, forKey: .endDate, decoder: decoder)
        }
    }

    func register(on group: RouterGroup<SfdestRequestContext>) {
        group.put("destinations/{id}/mappings") { request, context in
            try await self.replaceMappings(context.parameters.require("id"), request)
        }
        group.put("destinations/{id}/segments") { request, context in
            try await self.replaceSegments(context.parameters.require("id"), request)
        }
    }

    func replaceMappings(_ id: String, _ request: Request) async throws -> Response {
        var destination = try await self.destinations.load(id)
        // Every item decoded: a wrong one made `decode` answer 422 listing them all.
        let items = try await RequestJSON.decode([Lenient<MappingItem>].self, from: request, limit: self.destinations.settings.maxConfigurationBodyBytes)
            .compactMap(\.value)
        let checked = Self.checkMappings(items, of: destination)
        guard checked.problems.isEmpty else {
            throw APIError.problems(checked.problems, code: "validation_failed", summary: "the mappings are not valid")
        }
        let before = mappingsJSON(destination.mappings)
        destination.mappings = checked.settings
        try await self.save(destination, mappingsChanged: true)
        try await self.destinations.services.audit(.destinationMappings, id, before: before, after: mappingsJSON(checked.settings))
        return mappingsJSON(destination.mappings).response()
    }

    /// The mappings body read against the destination: what would be saved, and every problem of
    /// the list itself (missing required mappings are the enable check's business). Shared by the
    /// PUT and by the preflight that checks a draft (the UI's as-you-type check).
    static func checkMappings(_ items: [MappingItem], of destination: Destination) -> (settings: [MappingSetting], problems: [ConfigurationProblem]) {
        var problems: [ConfigurationProblem] = []
        var settings: [MappingSetting] = []
        var parsed: [Mapping] = []
        for (index, item) in items.enumerated() {
            if item.source == nil { problems.append(ConfigurationProblem(field: "source", message: "required, such as xdm:person.name.lastName").at(index: index)) }
            if item.target == nil { problems.append(ConfigurationProblem(field: "target", message: "required, such as attribute:LastName").at(index: index)) }
            guard let source = item.source, let target = item.target else { continue }
            settings.append(MappingSetting(source: source, target: target))
            do {
                parsed.append(try Mapping(source: source, target: target))
            } catch {
                problems += error.problems.map { $0.at(index: index) }
            }
        }
        if problems.isEmpty {
            // Duplicates and identity misuse.
            let audiences = (try? destination.parsedAudiences()) ?? []
            problems += Self.planProblems(destination.objectType, destination.operation, parsed, audiences).filter {
                $0.field.hasPrefix("[") && ($0.field.hasSuffix(".source") || $0.field.hasSuffix(".target"))
            }
        }
        return (settings, problems)
    }

    func replaceSegments(_ id: String, _ request: Request) async throws -> Response {
        var destination = try await self.destinations.load(id)
        let items = try await RequestJSON.decode([Lenient<SegmentItem>].self, from: request, limit: self.destinations.settings.maxConfigurationBodyBytes)
            .compactMap(\.value)
        let checked = Self.checkSegments(items, of: destination)
        guard checked.problems.isEmpty else {
            throw APIError.problems(checked.problems, code: "validation_failed", summary: "the segments are not valid")
        }
        let before = segmentsJSON(destination.segments)
        destination.segments = checked.settings
        try await self.save(destination, mappingsChanged: false)
        try await self.destinations.services.audit(.destinationSegments, id, before: before, after: segmentsJSON(checked.settings))
        return segmentsJSON(destination.segments).response()
    }

    /// The segments body read against the destination: what would be saved, and every problem.
    static func checkSegments(_ items: [SegmentItem], of destination: Destination) -> (settings: [SegmentSetting], problems: [ConfigurationProblem]) {
        var problems: [ConfigurationProblem] = []
        var settings: [SegmentSetting] = []
        var parsed: [AudienceSchedule] = []
        for (index, item) in items.enumerated() {
            if item.segmentId == nil { problems.append(ConfigurationProblem(field: "segmentId", message: "required: the audience's id").at(index: index)) }
            if item.mappingId == nil {
                problems.append(ConfigurationProblem(field: "mappingId", message: "required: the Text Area (Long) custom field the status goes to, such as crm_1_seg").at(index: index))
            }
            guard let segmentId = item.segmentId, let mappingId = item.mappingId else { continue }
            settings.append(SegmentSetting(segmentId: segmentId, mappingId: mappingId, startDate: item.startDate, endDate: item.endDate))
            do {
                parsed.append(try AudienceSchedule(segmentId: segmentId, mappingId: mappingId, startDate: item.startDate, endDate: item.endDate))
            } catch {
                problems += error.problems.map { $0.at(index: index) }
            }
        }
        let fieldCount = Set(parsed.map { $0.fieldName.lowercased() }).count
        if fieldCount > ActivationPlan.maxAudienceFields {
            problems.append(ConfigurationProblem(
                field: "segments",
                message: "\(fieldCount) distinct Mapping ID fields; Salesforce allows at most \(ActivationPlan.maxAudienceFields) per object, so let audiences share fields"
            ))
        }
        if parsed.count == items.count {
            // Indexes line up only when every item parsed.
            let mappings = (try? destination.parsedMappings()) ?? []
            problems += Self.planProblems(destination.objectType, destination.operation, mappings, parsed).filter {
                $0.field.hasPrefix("[") && ($0.field.hasSuffix(".segmentId") || $0.field.hasSuffix(".mappingId"))
            }
        }
        return (settings, problems)
    }

    /// Saves new settings. An enabled destination must pass the enable check with them first
    /// (data usage policies included), and then re-evaluates stored profiles under them. One a
    /// policy paused resumes when its new mappings break no policy; a change of its audiences alone
    /// leaves it paused.
    private func save(_ destination: Destination, mappingsChanged: Bool) async throws {
        var destination = destination
        destination.updatedAt = Date()
        if destination.status.isActivated {
            let staysPaused = destination.status == .pausedPolicy && !mappingsChanged
            destination.orgFields = try await EnablePreflight(services: self.destinations.services).orgFields(for: destination, policies: !staysPaused)
            if !staysPaused { destination.status = .enabled }
        }
        try await self.destinations.services.store.saveDestination(destination)
        if destination.status.isActivated {
            try await self.destinations.activate(destination)
        }
        self.destinations.logger.notice("destination settings saved", metadata: ["destination": "\(destination.id)"])
    }

    private static func planProblems(
        _ objectType: SalesforceObjectType, _ operation: DestinationOperation, _ mappings: [Mapping], _ audiences: [AudienceSchedule]
    ) -> [ConfigurationProblem] {
        do {
            _ = try ActivationPlan(objectType: objectType, operation: operation, mappings: mappings, audiences: audiences)
            return []
        } catch {
            return error.problems
        }
    }
}
