import Foundation

/// What a user can set about the alerts of one destination. Every field has the default the
/// original platform uses, so a destination nobody configured is watched sensibly.
public struct AlertSettings: Sendable, Hashable, Codable {
    /// *Activation Skip Rate Exceeded* opens when excluded / received in the run window is above this.
    public var skipRateThreshold = 0.01
    /// ... and only once the run window received at least this many profiles.
    public var skipRateMinimumReceived = 1
    /// *Flow Run Delay* opens when the oldest pending change is older than this.
    public var delayThresholdSeconds = 900
    /// *Flow Run Start*: an alert while a run window is processing (off by default).
    public var runStart = false
    /// *Flow Run Success*: an alert once the latest run window completed without failures (off by default).
    public var runSuccess = false

    public init() {}
}

/// The rules an alert can be raised by.
public enum AlertRule: String, Sendable, Hashable, Codable, CaseIterable {
    case activationSkipRateExceeded = "activation_skip_rate_exceeded"
    case flowRunFailure = "flow_run_failure"
    case flowRunDelay = "flow_run_delay"
    case flowRunStart = "flow_run_start"
    case flowRunSuccess = "flow_run_success"
}

/// Whether an alert still holds.
public enum AlertState: String, Sendable, Hashable, Codable {
    case open, resolved
}

/// One value of an alert's details: a number or a text.
public enum AlertDetail: Sendable, Hashable, Codable {
    case number(Double)
    case text(String)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else {
            self = .text(try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .number(let number): try container.encode(number)
        case .text(let text): try container.encode(text)
        }
    }
}

/// An alert: opened by a rule for a destination, open until the rule no longer holds.
public struct Alert: Sendable, Hashable {
    public var id: String
    public var rule: AlertRule
    public var destinationId: String
    public var state: AlertState
    public var message: String
    public var details: [String: AlertDetail]
    public var openedAt: Date
    public var resolvedAt: Date?

    public init(
        id: String, rule: AlertRule, destinationId: String, state: AlertState, message: String,
        details: [String: AlertDetail], openedAt: Date, resolvedAt: Date? = nil
    ) {
        self.id = id
        self.rule = rule
        self.destinationId = destinationId
        self.state = state
        self.message = message
        self.details = details
        self.openedAt = openedAt
        self.resolvedAt = resolvedAt
    }
}

/// A webhook that receives alert events: of every destination, or of one. The secret signs the
/// bodies; it is sealed at rest and never shown.
public struct AlertSubscription: Sendable, Hashable {
    public var id: String
    /// The whole URL: sealed at rest (tokens often live in the path), shown only as `displayURL`.
    public var url: String
    public var secret: String
    public var destinationId: String?
    public var createdAt: Date

    public init(id: String, url: String, secret: String, destinationId: String?, createdAt: Date) {
        self.id = id
        self.url = url
        self.secret = secret
        self.destinationId = destinationId
        self.createdAt = createdAt
    }

    /// What may be shown of a webhook URL: its scheme and host (and port), never its path or query.
    public static func displayURL(_ url: String) -> String {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host else {
            return "***"
        }
        let shownHost = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "\(scheme)://\(shownHost)\(components.port.map { ":\($0)" } ?? "")"
    }

    /// The URL as it may be shown.
    public var displayURL: String { Self.displayURL(self.url) }
}

/// One alert event on its way to one subscription.
public struct WebhookDelivery: Sendable, Hashable {
    /// How long `AlertStore.dueWebhookDeliveries` holds a delivery it handed out.
    public static let lease: TimeInterval = 60

    public var id: Int64
    public var eventId: String
    public var subscriptionId: String
    public var url: String
    public var secret: String
    /// The exact bytes to send (and sign), the same on every attempt.
    public var body: Data
    /// Attempts made so far.
    public var attempts: Int
    /// When the event happened: retries stop after a bounded time from here.
    public var createdAt: Date

    package init(id: Int64, eventId: String, subscriptionId: String, url: String, secret: String, body: Data, attempts: Int, createdAt: Date) {
        self.id = id
        self.eventId = eventId
        self.subscriptionId = subscriptionId
        self.url = url
        self.secret = secret
        self.body = body
        self.attempts = attempts
        self.createdAt = createdAt
    }
}
