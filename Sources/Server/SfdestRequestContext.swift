import Foundation
import Hummingbird
import Store

/// The context every route is handled in: Hummingbird's core, plus the API key that
/// authenticated the request (set by `APIKeyMiddleware`; nil on the routes that need none).
struct SfdestRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    var apiKey: AuthenticatedKey?

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }
}

/// Who made a request: a stored key, or the bootstrap key (`admin`).
struct AuthenticatedKey: Sendable, Hashable {
    var id: String
    var name: String
    var permissions: Set<Permission>
    /// When the key expires (nil: never). A key it creates may not outlive it.
    var expiresAt: Date? = nil

    /// `SFDEST_API_KEY` or the data directory's key: not stored, every permission.
    static let bootstrap = AuthenticatedKey(id: "bootstrap", name: "bootstrap key", permissions: [.admin])

    var isAdmin: Bool { self.permissions.contains(.admin) }

    func grants(_ permission: Permission) -> Bool {
        self.isAdmin || self.permissions.contains(permission)
    }

    /// The key of the request the current task serves: `APIKeyMiddleware` binds it next to
    /// `SfdestRequestContext.apiKey`, so handlers that do not take the context (the audit calls
    /// in the configuration routes) can name who made the change.
    @TaskLocal static var current: AuthenticatedKey?
}

extension AuthenticatedKey {
    /// The permissions of `needed` this key lacks, in their order (an admin key lacks none).
    func lacking(_ needed: some Sequence<Permission>) -> [Permission] {
        needed.filter { !self.grants($0) }
    }
}

extension APIError {
    /// 403 `forbidden` naming each missing permission in the message (`explain` gets them joined
    /// with "and") and in `details`, as the contract says.
    static func forbidden(missing: [Permission], _ explain: (String) -> String) -> APIError {
        let names = missing.map(\.rawValue)
        return APIError(
            status: .forbidden, code: "forbidden", message: explain(names.joined(separator: " and ")),
            details: names.map { ["permission": .string($0)] }
        )
    }
}
