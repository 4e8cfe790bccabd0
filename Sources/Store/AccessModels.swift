import Crypto
import Foundation
import SfdestJSON

/// What an API key may do. The names are the original platform's; `admin` grants every other.
public enum Permission: String, Sendable, Hashable, CaseIterable, Codable, Comparable {
    case viewDestinations = "view-destinations"
    case manageDestinations = "manage-destinations"
    case activateDestinations = "activate-destinations"
    case viewProfiles = "view-profiles"
    case viewSegments = "view-segments"
    case ingestProfiles = "ingest-profiles"
    case viewMetrics = "view-metrics"
    case manageKeys = "manage-keys"
    case admin

    public static func < (lhs: Permission, rhs: Permission) -> Bool {
        Self.allCases.firstIndex(of: lhs)! < Self.allCases.firstIndex(of: rhs)!
    }
}

/// An API key as stored: never the key itself, only its SHA-256 (the key is 256 random bits, so a
/// plain hash cannot be reversed by guessing).
public struct APIKey: Sendable, Hashable {
    public var id: String
    public var name: String
    public var permissions: [Permission]
    /// Lowercase hex SHA-256 of the key material (`APIKeyMaterial.hash`).
    public var keyHash: String
    public var createdAt: Date
    public var expiresAt: Date?
    public var revokedAt: Date?
    /// When the key last authenticated a request, to a minute or so (nil: never).
    public var lastUsedAt: Date?
    /// The id of the key that created this one.
    public var createdBy: String?

    public init(
        id: String, name: String, permissions: [Permission], keyHash: String, createdAt: Date, expiresAt: Date? = nil,
        revokedAt: Date? = nil, lastUsedAt: Date? = nil, createdBy: String? = nil
    ) {
        self.id = id
        self.name = name
        self.permissions = permissions
        self.keyHash = keyHash
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.lastUsedAt = lastUsedAt
        self.createdBy = createdBy
    }
}

/// Making and hashing key material (`sfd_` and 43 URL-safe base64 characters: 256 random bits).
public enum APIKeyMaterial {
    /// A new random key.
    public static func generate() -> String {
        let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        return "sfd_" + bytes.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// The lowercase hex SHA-256 of a key as presented.
    public static func hash(_ key: String) -> String {
        SHA256.hash(data: Data(key.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}

/// One configuration change: who (the key), what (`noun.verb`), on what, and the state before
/// and after with every secret shown as `***`.
public struct AuditEntry: Sendable, Equatable {
    public var id: String
    public var at: Date
    public var keyId: String?
    public var keyName: String?
    /// `connection.create`, `destination.enable`, `key.revoke`, ...
    public var action: String
    public var targetId: String?
    public var before: JSON
    public var after: JSON

    public init(id: String, at: Date, keyId: String?, keyName: String?, action: String, targetId: String?, before: JSON, after: JSON) {
        self.id = id
        self.at = at
        self.keyId = keyId
        self.keyName = keyName
        self.action = action
        self.targetId = targetId
        self.before = before
        self.after = after
    }
}
