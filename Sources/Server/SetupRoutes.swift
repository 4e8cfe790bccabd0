import Activation
import Foundation
import Hummingbird
import SfdestJSON
import Store

/// What a person needs while setting a destination up, beyond its settings: the sources stored
/// profiles offer, the audiences they are in, the org's fields of the destination's object, and
/// the enable check run on a draft without saving or enabling anything. The web UI's pages are
/// built on these; any client may use them.
struct SetupRoutes: Sendable {
    let destinations: DestinationRoutes

    /// How many recent profiles `GET /v1/profiles/sources` reads by default, and at most.
    static let defaultSourceSample = 500
    static let maxSourceSample = 5_000
    static let maxSources = 300

    func register(on group: RouterGroup<SfdestRequestContext>) {
        group.get("profiles/sources") { request, _ in try await self.sources(request) }
        group.get("audiences") { _, _ in try await self.audiences() }
        group.get("destinations/{id}/fields") { request, context in try await self.fields(context.parameters.require("id"), request) }
        group.post("destinations/{id}/preflight") { request, context in try await self.preflight(context.parameters.require("id"), request) }
    }

    /// `GET /v1/profiles/sources?limit=N`: the sources of the N most recent profiles.
    func sources(_ request: Request) async throws -> Response {
        let limit = try Self.limit(request, default: Self.defaultSourceSample, max: Self.maxSourceSample)
        let profiles = try await self.destinations.services.store.recentProfiles(limit: limit)
        // The most common first, at most `maxSources` (a datalist of thousands helps nobody).
        let suggestions = SourceSuggestion.from(profiles).prefix(Self.maxSources)
        return JSON.object([
            ("profilesRead", .int(profiles.count)),
            ("sources", .array(suggestions.map {
                ["source": .string($0.source), "profiles": .int($0.profiles), "samples": .array($0.samples.map(JSON.string))]
            })),
        ]).response()
    }

    /// `GET /v1/audiences`: every audience stored profiles are in, with counts per status.
    func audiences() async throws -> Response {
        let seen = try await self.destinations.services.store.audiencesSeen()
        return JSON.array(seen.keys.sorted().map { segment in
            let counts = seen[segment] ?? AudienceCounts()
            return [
                "segmentId": .string(segment), "realized": .int(counts.realized), "existing": .int(counts.existing),
                "exited": .int(counts.exited), "members": .int(counts.realized + counts.existing),
            ]
        }).response()
    }

    /// `GET /v1/destinations/{id}/fields[?fresh=true]`: the org's fields of the destination's object
    /// (the cached describe unless `fresh`), with what each may be used for.
    func fields(_ id: String, _ request: Request) async throws -> Response {
        let destination = try await self.destinations.load(id)
        let fresh = Self.fresh(request)
        let description = try await EnablePreflight(services: self.destinations.services).describeObject(destination, fresh: fresh)
        let fields = description.fields.sorted { $0.name < $1.name }.map { field -> JSON in
            let domain = SalesforceField(
                name: field.name, type: field.type, length: field.length, updateable: field.updateable, nillable: field.nillable,
                custom: field.custom, externalId: field.externalId, idLookup: field.idLookup
            )
            return .object([
                ("name", .string(field.name)), ("label", .string(field.label ?? field.name)), ("type", .string(field.type)),
                ("length", .int(field.length)), ("updateable", .bool(field.updateable)), ("nillable", .bool(field.nillable)),
                ("custom", .bool(field.custom)), ("externalId", .bool(field.externalId)), ("idLookup", .bool(field.idLookup)),
                // Required: Salesforce refuses a record without it (never empty, and written by us).
                ("required", .bool(!field.nillable && field.updateable && !field.defaultedOnCreate)),
                ("longTextArea", .bool(domain.isLongTextArea)),
            ])
        }
        return JSON.object([("objectType", .string(destination.objectType.rawValue)), ("fields", .array(fields))]).response()
    }

    /// The body of `POST /v1/destinations/{id}/preflight`: a draft of either list (absent: the
    /// stored one).
    struct PreflightRequest: Decodable, Sendable {
        var mappings: [Lenient<ActivationSettingsRoutes.MappingItem>]?
        var segments: [Lenient<ActivationSettingsRoutes.SegmentItem>]?

        enum CodingKeys: String, CodingKey { case mappings, segments }

        init(from decoder: any Decoder) throws {
            let container = try decoder.lenientContainer(keyedBy: CodingKeys.self)
            self.mappings = try container.lenient([Lenient<ActivationSettingsRoutes.MappingItem>].self, forKey: .mappings, decoder: decoder)
            self.segments = try container.lenient([Lenient<ActivationSettingsRoutes.SegmentItem>].self, forKey: .segments, decoder: decoder)
        }

        init() {}
    }

    /// `POST /v1/destinations/{id}/preflight[?fresh=true]`: the enable check on the stored settings,
    /// or on a draft of them, saving nothing: `{"ready", "problems": [{"field", "message"}]}`.
    func preflight(_ id: String, _ request: Request) async throws -> Response {
        var destination = try await self.destinations.load(id)
        let body = try await RequestJSON.decode(
            PreflightRequest.self, from: request, limit: self.destinations.settings.maxConfigurationBodyBytes, empty: PreflightRequest()
        )
        var problems: [ConfigurationProblem] = []
        if let items = body.mappings {
            let checked = ActivationSettingsRoutes.checkMappings(items.compactMap(\.value), of: destination)
            problems += checked.problems.map(EnablePreflight.located("mappings"))
            destination.mappings = checked.settings
        }
        if let items = body.segments {
            let checked = ActivationSettingsRoutes.checkSegments(items.compactMap(\.value), of: destination)
            problems += checked.problems.map { $0.field.hasPrefix("[") ? EnablePreflight.located("segments")($0) : $0 }
            destination.segments = checked.settings
        }
        if problems.isEmpty {
            let fresh = Self.fresh(request)
            problems = try await EnablePreflight(services: self.destinations.services).check(destination, fresh: fresh).problems
        }
        // The data usage policies the (draft) mappings would break, as enabling would refuse them.
        let violations = try await PolicyCheck.violations(destination, store: self.destinations.services.store)
        return JSON.object([
            ("ready", .bool(problems.isEmpty && violations.isEmpty)),
            ("problems", .array(problems.map { ["field": .string($0.field), "message": .string($0.message)] } + PolicyCheck.details(violations, destination: destination))),
        ]).response()
    }

    /// `fresh=true` asks for a new describe of the org (an API call); only a key that may enable
    /// destinations gets one, so a view-only key cannot spend the org's API budget. Others get the
    /// cached describe.
    static func fresh(_ request: Request) -> Bool {
        request.uri.queryParameters.get("fresh") == "true" && (AuthenticatedKey.current?.grants(.activateDestinations) ?? false)
    }

    private static func limit(_ request: Request, default value: Int, max: Int) throws -> Int {
        guard let text = request.uri.queryParameters.get("limit") else { return value }
        guard let limit = Int(text), limit >= 1 else {
            throw APIError(status: .badRequest, code: "invalid_request", message: "limit must be a whole number from 1 to \(max), not '\(text)'")
        }
        return min(limit, max)
    }
}
