import Activation
import Foundation

/// The secrets of a connection. They exist in plain text only in memory: the store seals them
/// with the master key before they reach the disk, and the API never returns them.
public struct ConnectionSecrets: Sendable, Hashable, Codable {
    public var password: String?
    public var securityToken: String?
    public var clientSecret: String?
    public var privateKeyPem: String?

    public init(password: String? = nil, securityToken: String? = nil, clientSecret: String? = nil, privateKeyPem: String? = nil) {
        self.password = password
        self.securityToken = securityToken
        self.clientSecret = clientSecret
        self.privateKeyPem = privateKeyPem
    }

    /// Every non-empty secret, for tests and log scrubbing.
    public var all: [String] {
        [self.password, self.securityToken, self.clientSecret, self.privateKeyPem].compactMap { $0 }.filter { !$0.isEmpty }
    }
}

/// A saved Salesforce connection.
public struct Connection: Sendable, Hashable {
    /// How the login host is given; the raw values are the contract's field names.
    public enum LoginKind: String, Sendable, Hashable, CaseIterable {
        /// The My Domain prefix (`acme` for acme.my.salesforce.com).
        case customDomain
        /// A full login URL.
        case loginUrl
    }

    /// The OAuth flow; the raw values are the contract's `auth.type` words.
    public enum AuthType: String, Sendable, Hashable, CaseIterable {
        case password
        case clientCredentials
        case jwtBearer
    }

    /// What the last login said; the raw values are the contract's words.
    public enum Status: String, Sendable, Hashable, CaseIterable {
        case connected
        case authenticationFailed = "authentication_failed"
    }

    public var id: String
    public var name: String
    public var loginKind: LoginKind
    public var loginValue: String
    public var apiVersion: String
    public var authType: AuthType
    public var username: String?
    public var clientId: String
    public var secrets: ConnectionSecrets
    public var status: Status
    public var statusMessage: String?
    public var instanceUrl: String?
    /// The JWT bearer flow's `aud` when the user gave one; nil means the default for the login host.
    public var audience: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, name: String, loginKind: LoginKind, loginValue: String, apiVersion: String, authType: AuthType,
        username: String?, clientId: String, secrets: ConnectionSecrets, status: Status, statusMessage: String? = nil,
        instanceUrl: String?, audience: String? = nil, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.name = name
        self.loginKind = loginKind
        self.loginValue = loginValue
        self.apiVersion = apiVersion
        self.authType = authType
        self.username = username
        self.clientId = clientId
        self.secrets = secrets
        self.status = status
        self.statusMessage = statusMessage
        self.instanceUrl = instanceUrl
        self.audience = audience
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A mapping line as the user wrote it.
public struct MappingSetting: Sendable, Hashable, Codable {
    public var source: String
    public var target: String

    public init(source: String, target: String) {
        self.source = source
        self.target = target
    }
}

/// An audience schedule as the user wrote it.
public struct SegmentSetting: Sendable, Hashable, Codable {
    public var segmentId: String
    public var mappingId: String
    public var startDate: String?
    public var endDate: String?

    public init(segmentId: String, mappingId: String, startDate: String? = nil, endDate: String? = nil) {
        self.segmentId = segmentId
        self.mappingId = mappingId
        self.startDate = startDate
        self.endDate = endDate
    }
}

/// Whether a destination sends.
public enum DestinationStatus: String, Sendable, Hashable, Codable {
    case draft, enabled, disabled
    /// Enabled, but a label put on a source it exports later breaks a policy: nothing goes out,
    /// changes stay queued, until the mapping or the label changes.
    case pausedPolicy = "paused_policy"

    /// Enabled or paused by a policy: it keeps receiving (and queueing) profiles.
    public var isActivated: Bool { self == .enabled || self == .pausedPolicy }
}

/// What a Lead destination does when Salesforce answers `CANNOT_UPDATE_CONVERTED_LEAD`; the raw
/// values are the contract's `convertedLeads` words.
public enum ConvertedLeadHandling: String, Sendable, Hashable, Codable, CaseIterable {
    /// The record fails with `CANNOT_UPDATE_CONVERTED_LEAD` (listed in the failures view).
    case report
    /// The change goes to the lead's `ConvertedContactId`, and so do the profile's later changes.
    case followContact
}

/// A destination: one Salesforce object of one connection, with its mappings and audiences.
public struct Destination: Sendable, Hashable {
    public var id: String
    public var name: String
    public var description: String
    public var connectionId: String
    public var objectType: SalesforceObjectType
    /// Update by Salesforce Id, or upsert by an external Id. Set when the destination is created.
    public var operation: DestinationOperation
    /// Lead destinations: what a converted lead's change does.
    public var convertedLeads: ConvertedLeadHandling
    public var status: DestinationStatus
    public var mappings: [MappingSetting]
    public var segments: [SegmentSetting]
    /// The org's describe of the mapped and Mapping ID fields, taken when the destination was enabled.
    public var orgFields: [SalesforceField]
    /// Set when delivery stopped for a reason a person must fix (e.g. the org lost a field).
    public var deliveryError: String?
    public var lastDeliveryAt: Date?
    public var createdAt: Date
    public var updatedAt: Date
    /// A backfill of at least this many changed records goes through Bulk API 2.0; nil: never.
    public var bulkThreshold: Int?

    /// What the destination does with the data (what data usage policies are checked against).
    public var marketingActions: [MarketingAction]
    /// The attribute whose `n` keeps a profile out (`CONSENT_REFUSED`).
    public var consentPath: String

    /// `bulkThreshold` unless a person sets it.
    public static let defaultBulkThreshold = 10_000

    public init(
        id: String, name: String, description: String, connectionId: String, objectType: SalesforceObjectType,
        operation: DestinationOperation = .update, convertedLeads: ConvertedLeadHandling = .report, status: DestinationStatus = .draft,
        mappings: [MappingSetting] = [], segments: [SegmentSetting] = [],
        orgFields: [SalesforceField] = [], deliveryError: String? = nil, lastDeliveryAt: Date? = nil, createdAt: Date, updatedAt: Date,
        bulkThreshold: Int? = Destination.defaultBulkThreshold, marketingActions: [MarketingAction] = MarketingAction.defaults,
        consentPath: String = Governance.defaultConsentPath
    ) {
        self.bulkThreshold = bulkThreshold
        self.marketingActions = marketingActions
        self.consentPath = consentPath
        self.id = id
        self.name = name
        self.description = description
        self.connectionId = connectionId
        self.objectType = objectType
        self.operation = operation
        self.convertedLeads = convertedLeads
        self.status = status
        self.mappings = mappings
        self.segments = segments
        self.orgFields = orgFields
        self.deliveryError = deliveryError
        self.lastDeliveryAt = lastDeliveryAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A destination whose plan is compiled, ready to receive profiles.
public struct ActiveDestination: Sendable {
    public var id: String
    public var plan: ActivationPlan

    public init(id: String, plan: ActivationPlan) {
        self.id = id
        self.plan = plan
    }
}

/// A store operation refused because of the state of things (maps to HTTP 409).
public struct StoreConflict: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
