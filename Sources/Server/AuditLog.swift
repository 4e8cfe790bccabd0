import Foundation
import SfdestBasics
import SfdestJSON
import Store

/// What the audit log records, as `noun.verb`.
enum AuditAction: String, Sendable, CaseIterable {
    case connectionCreate = "connection.create"
    case connectionUpdate = "connection.update"
    case connectionDelete = "connection.delete"
    case destinationCreate = "destination.create"
    case destinationEnable = "destination.enable"
    case destinationDisable = "destination.disable"
    case destinationMappings = "destination.mappings"
    case destinationSegments = "destination.segments"
    case destinationAlerts = "destination.alerts"
    case destinationDelete = "destination.delete"
    case subscriptionCreate = "subscription.create"
    case subscriptionDelete = "subscription.delete"
    case failuresRetry = "failures.retry"
    case keyCreate = "key.create"
    case keyRevoke = "key.revoke"
    case labelsReplace = "labels.replace"
    case profileErase = "profile.erase"
}

extension SfdestServices {
    /// Records a configuration change that just succeeded, made with the request's key. Called
    /// right after the store call that made the change; when the entry cannot be written the
    /// request fails (the change stays), rather than go unrecorded silently.
    func audit(_ action: AuditAction, _ targetId: String?, before: JSON = .null, after: JSON = .null) async throws {
        try await self.store.recordAudit(auditEntry(action, targetId, before: before, after: after))
    }
}

/// An entry made by the current request's key, now.
func auditEntry(_ action: AuditAction, _ targetId: String?, before: JSON, after: JSON) -> AuditEntry {
    let key = AuthenticatedKey.current
    return AuditEntry(
        id: generateID(prefix: "aud_"), at: Date(), keyId: key?.id, keyName: key?.name, action: action.rawValue,
        targetId: targetId, before: before, after: after
    )
}

/// How a secret appears in the audit log.
let redacted: JSON = "***"

/// A connection as the audit log shows it: its settings, and `***` for each secret it holds.
func connectionAuditJSON(_ connection: Connection) -> JSON {
    var auth: [(String, JSON)] = [("type", .string(connection.authType.rawValue))]
    if let username = connection.username { auth.append(("username", .string(username))) }
    auth.append(("clientId", .string(connection.clientId)))
    if let audience = connection.audience { auth.append(("audience", .string(audience))) }
    let secrets = connection.secrets
    for (name, value) in [
        ("password", secrets.password), ("securityToken", secrets.securityToken), ("clientSecret", secrets.clientSecret),
        ("privateKeyPem", secrets.privateKeyPem),
    ] where !(value ?? "").isEmpty {
        auth.append((name, redacted))
    }
    return .object([
        ("id", .string(connection.id)),
        ("name", .string(connection.name)),
        (connection.loginKind.rawValue, .string(connection.loginValue)),
        ("apiVersion", .string(connection.apiVersion)),
        ("auth", .object(auth)),
    ])
}

/// A destination's settings (not its activity) as the audit log shows them.
func destinationAuditJSON(_ destination: Destination) -> JSON {
    .object(destinationSettingsFields(destination))
}

/// A subscription as the audit log shows it: the webhook's scheme and host only (a path or query
/// may carry a token), and never its secret.
func subscriptionAuditJSON(_ subscription: AlertSubscription) -> JSON {
    [
        "id": .string(subscription.id),
        "url": .string(schemeAndHost(subscription.url)),
        "destinationId": .string(subscription.destinationId),
        "secret": redacted,
    ]
}

/// `https://hooks.example.com` (with the port when one is given) for any URL; `***` when it
/// cannot be read as one.
func schemeAndHost(_ url: String) -> String {
    guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host, !host.isEmpty else {
        return "***"
    }
    return "\(scheme)://\(host)" + (components.port.map { ":\($0)" } ?? "")
}

/// A key as listed and audited: never its material or hash.
func apiKeyJSON(_ key: APIKey) -> JSON {
    [
        "id": .string(key.id),
        "name": .string(key.name),
        "permissions": .array(key.permissions.map { .string($0.rawValue) }),
        "createdAt": .date(key.createdAt),
        "expiresAt": .date(key.expiresAt),
        "revokedAt": .date(key.revokedAt),
        "lastUsedAt": .date(key.lastUsedAt),
        "createdBy": .string(key.createdBy),
    ]
}

func auditEntryJSON(_ entry: AuditEntry) -> JSON {
    [
        "id": .string(entry.id),
        "at": .date(entry.at),
        "keyId": .string(entry.keyId),
        "keyName": .string(entry.keyName),
        "action": .string(entry.action),
        "targetId": .string(entry.targetId),
        "before": entry.before,
        "after": entry.after,
    ]
}
