import Activation
import Foundation
import Hummingbird
import Logging
import SfdestBasics
import SfdestJSON
import Store

/// `/v1/keys`: API keys with permissions. The key itself is shown once, in the answer that made
/// it; the store keeps its hash. A key can grant only permissions its creator has (an `admin`
/// key can grant any).
struct KeyRoutes: Sendable {
    let services: SfdestServices
    let settings: ServerSettings
    let logger: Logger

    /// The body of `POST /v1/keys`.
    struct CreateRequest: Decodable, Sendable {
        var name: String?
        var permissions: [String]?
        var expiresAt: String?

        enum CodingKeys: String, CodingKey { case name, permissions, expiresAt }

        init(from decoder: any Decoder) throws {
            let container = try decoder.lenientContainer(keyedBy: CodingKeys.self)
            self.name = try container.lenient(String.self, forKey: .name, decoder: decoder)
            self.permissions = try container.lenient([String].self, forKey: .permissions, decoder: decoder)
            self.expiresAt = try container.lenient(String.self, forKey: .expiresAt, decoder: decoder)
        }
    }

    func register(on group: RouterGroup<SfdestRequestContext>) {
        group.post("keys") { request, context in try await self.create(request, by: context.apiKey) }
        group.get("keys") { _, _ in try await self.list() }
        group.delete("keys/{id}") { _, context in try await self.revoke(context.parameters.require("id")) }
        group.get("audit") { request, _ in try await self.audit(request) }
    }

    func create(_ request: Request, by creator: AuthenticatedKey?) async throws -> Response {
        let body = try await RequestJSON.decode(CreateRequest.self, from: request, limit: self.settings.maxConfigurationBodyBytes)
        let now = Date()
        var problems: [ConfigurationProblem] = []
        let name = body.name?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if name.isEmpty {
            problems.append(.init(field: "name", message: "required: a name to recognise the key by, such as reps dashboard"))
        } else if name.count > 200 {
            problems.append(.init(field: "name", message: "at most 200 characters"))
        }
        var permissions: [Permission] = []
        if let given = body.permissions {
            let unknown = given.filter { Permission(rawValue: $0) == nil }
            if !unknown.isEmpty {
                let known = Permission.allCases.map(\.rawValue).joined(separator: ", ")
                problems.append(.init(field: "permissions", message: "unknown permission\(unknown.count == 1 ? "" : "s") \(unknown.joined(separator: ", ")): use \(known)"))
            } else if given.isEmpty {
                problems.append(.init(field: "permissions", message: "give at least one permission, such as view-destinations"))
            }
            permissions = Array(Set(given.compactMap(Permission.init(rawValue:)))).sorted()
        } else {
            problems.append(.init(field: "permissions", message: "required: a list of permissions, such as [\"view-destinations\"]"))
        }
        var expiresAt: Date?
        if let text = body.expiresAt {
            if let date = Self.parseTime(text) {
                if date > now {
                    expiresAt = date
                } else {
                    problems.append(.init(field: "expiresAt", message: "\(text) is not in the future: give a later time, or null for a key that does not expire"))
                }
            } else {
                problems.append(.init(field: "expiresAt", message: "'\(text)' is not an ISO 8601 time such as 2027-01-31T00:00:00Z (or null)"))
            }
        }
        guard problems.isEmpty else {
            throw APIError.problems(problems, code: "validation_failed", summary: "the key is not valid")
        }
        // A key cannot hand out more than its creator holds.
        guard let creator else {
            throw APIError(status: .unauthorized, code: "unauthorized", message: "no API key: send the header Authorization: Bearer <api key>")
        }
        // Nor outlive it: a temporary key cannot mint a permanent one.
        if let limit = creator.expiresAt, expiresAt.map({ $0 > limit }) ?? true {
            throw APIError.problems(
                [.init(field: "expiresAt", message: "the key '\(creator.name)' creating it expires at \(limit.formatted(.iso8601)): give an expiresAt no later than that")],
                code: "validation_failed", summary: "the key is not valid"
            )
        }
        let beyond = creator.lacking(permissions)
        guard beyond.isEmpty else {
            throw APIError.forbidden(missing: beyond) {
                "the API key '\(creator.name)' lacks the permission \($0), so it cannot grant it: create the key with a key that has it (or admin)"
            }
        }
        let material = APIKeyMaterial.generate()
        let key = APIKey(
            id: generateID(prefix: "key_"), name: name, permissions: permissions, keyHash: APIKeyMaterial.hash(material),
            createdAt: now, expiresAt: expiresAt, createdBy: creator.id
        )
        try await self.services.store.createAPIKey(key, audit: auditEntry(.keyCreate, key.id, before: .null, after: apiKeyJSON(key)))
        self.logger.notice("API key created", metadata: ["key": "\(key.id)", "permissions": "\(permissions.map(\.rawValue).joined(separator: ","))"])
        return JSON.object([
            ("id", .string(key.id)),
            ("name", .string(key.name)),
            ("permissions", .array(key.permissions.map { .string($0.rawValue) })),
            ("createdAt", .date(key.createdAt)),
            ("expiresAt", .date(key.expiresAt)),
            ("key", .string(material)),
        ]).response(.created)
    }

    func list() async throws -> Response {
        JSON.array(try await self.services.store.apiKeys().map(apiKeyJSON)).response()
    }

    /// Revokes at once: the next request with the key is answered 401.
    func revoke(_ id: String) async throws -> Response {
        // A key may revoke only keys it could have created: a manage-keys key cannot lock out an admin.
        if let creator = AuthenticatedKey.current, !creator.isAdmin,
           let target = try await self.services.store.apiKeys().first(where: { $0.id == id }) {
            let beyond = creator.lacking(target.permissions)
            guard beyond.isEmpty else {
                throw APIError.forbidden(missing: beyond) {
                    "the key \(id) holds \($0), which the API key '\(creator.name)' lacks: revoke it with a key that has it (or admin)"
                }
            }
        }
        let revoked = try await self.services.store.revokeAPIKey(id: id, at: Date()) { before, after in
            auditEntry(.keyRevoke, id, before: apiKeyJSON(before), after: apiKeyJSON(after))
        }
        guard revoked != nil else {
            let hint = id == AuthenticatedKey.bootstrap.id ? " (the bootstrap key is not stored: change SFDEST_API_KEY to replace it)" : ""
            throw APIError(status: .notFound, code: "key_not_found", message: "no key \(id): list them with GET /v1/keys" + hint)
        }
        self.logger.notice("API key revoked", metadata: ["key": "\(id)"])
        return Response(status: .noContent)
    }

    /// `GET /v1/audit?limit=N`: the newest entries first (default 100, at most 1000).
    func audit(_ request: Request) async throws -> Response {
        var limit = 100
        if let text = request.uri.queryParameters.get("limit") {
            guard let value = Int(text), (1...1000).contains(value) else {
                throw APIError(status: .badRequest, code: "invalid_query", message: "limit must be a whole number from 1 to 1000, not '\(text)'")
            }
            limit = value
        }
        return JSON.array(try await self.services.store.auditEntries(limit: limit).map(auditEntryJSON)).response()
    }

    /// An ISO 8601 time, with or without fractional seconds.
    static func parseTime(_ text: String) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let date = try? Date(trimmed, strategy: .iso8601) { return date }
        return try? Date(trimmed, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
