import Foundation
import Hummingbird
import Store

/// Authenticates `Authorization: Bearer <key>` and enforces `RoutePermissions`, for every route
/// (it sits on the group all routes are registered on, so it sees the matched route path).
///
/// A key is looked up by its SHA-256: the bootstrap keys' hashes in memory, the others through
/// the store's unique index, so the cost does not grow with the number of keys and the time taken
/// says nothing about which keys exist (an attacker cannot steer the hash). Nothing is cached:
/// a key revoked or expired is refused from the very next request on.
struct APIKeyMiddleware: RouterMiddleware {
    typealias Context = SfdestRequestContext

    /// How often a key's `lastUsedAt` is written at most (a write per request would cost an fsync).
    static let lastUsedResolution: TimeInterval = 300

    private let table: [String: RouteAccess]
    private let bootstrapHashes: Set<String>
    private let store: any AccessStore

    init(settings: ServerSettings, store: any AccessStore) {
        self.table = RoutePermissions.table(metricsPublic: settings.metricsPublic)
        self.bootstrapHashes = Set(settings.apiKeys.filter { !$0.isEmpty }.map(APIKeyMaterial.hash) + settings.adminKeyHashes.map { $0.lowercased() })
        self.store = store
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let route = RoutePermissions.key(method: request.method, path: context.endpointPath ?? request.uri.path)
        guard let access = self.table[route] else {
            // Deny by default: a route added without a line in the table is refused, not opened.
            context.logger.error("route has no entry in the permission table; refused", metadata: ["route": "\(route)"])
            throw APIError(
                status: .forbidden, code: "forbidden",
                message: "\(route) has no entry in sfdest's permission table, so no key may use it (a defect: report it)"
            )
        }
        guard case .requires(let permissions) = access else { return try await next(request, context) }
        // The web UI calls these routes in-process for a signed-in browser: the key is the
        // session's, checked here exactly as a header's would be. A request from outside cannot
        // set a task-local value.
        let key: AuthenticatedKey
        if let sessionKeyHash = UIInternalCall.keyHash {
            key = try await self.authenticate(hash: sessionKeyHash)
        } else {
            key = try await self.authenticate(request)
        }
        let missing = key.lacking(permissions)
        guard missing.isEmpty else {
            throw APIError.forbidden(missing: missing) {
                "the API key '\(key.name)' lacks the permission \($0), which \(route) needs: "
                    + "use a key that has it, or have a key with manage-keys create one (POST /v1/keys)"
            }
        }
        var context = context
        context.apiKey = key
        return try await AuthenticatedKey.$current.withValue(key) { try await next(request, context) }
    }

    /// The key the request presents, if it is valid now.
    func authenticate(_ request: Request) async throws -> AuthenticatedKey {
        guard let header = request.headers[.authorization] else {
            throw Self.unauthorized("no API key: send the header Authorization: Bearer <api key>")
        }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw Self.unauthorized("the Authorization header must be Bearer <api key>")
        }
        return try await self.authenticate(hash: APIKeyMaterial.hash(parts[1].trimmingCharacters(in: .whitespaces)))
    }

    /// The key with this SHA-256, if it is valid now.
    func authenticate(hash: String) async throws -> AuthenticatedKey {
        if self.bootstrapHashes.contains(hash) { return .bootstrap }
        guard let key = try await self.store.apiKey(hash: hash) else {
            throw Self.unauthorized("the API key is not valid: use the bootstrap key (SFDEST_API_KEY or the one printed at first start) or a key made with POST /v1/keys")
        }
        let now = Date()
        if let revokedAt = key.revokedAt {
            throw Self.unauthorized("the API key \(key.id) was revoked at \(revokedAt.formatted(.iso8601)): ask for a new key")
        }
        if let expiresAt = key.expiresAt, expiresAt <= now {
            throw Self.unauthorized("the API key \(key.id) expired at \(expiresAt.formatted(.iso8601)): ask for a new key")
        }
        if key.lastUsedAt.map({ now.timeIntervalSince($0) >= Self.lastUsedResolution }) ?? true {
            // Best effort: a busy or full database must not refuse a valid key.
            try? await self.store.apiKeyUsed(id: key.id, at: now)
        }
        return AuthenticatedKey(id: key.id, name: key.name, permissions: Set(key.permissions), expiresAt: key.expiresAt)
    }

    private static func unauthorized(_ message: String) -> APIError {
        APIError(status: .unauthorized, code: "unauthorized", message: message, headers: [.wwwAuthenticate: "Bearer"])
    }
}

/// Set by the web UI around its in-process calls of the API: the SHA-256 of the signed-in
/// session's key.
enum UIInternalCall {
    @TaskLocal static var keyHash: String?
}
