/// What delivery is doing for one destination, as the rules read it. Alerts does not depend on
/// the delivery service: whoever runs both hands it a `DeliveryStateSource`.
public struct DeliveryState: Sendable, Hashable {
    /// The contract's words for delivery's states (`GET /v1/destinations/{id}`, `delivery.state`).
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case idle
        case delivering
        case backingOff = "backing_off"
        case pausedAPILimit = "paused_api_limit"
        case pausedAPIBudget = "paused_api_budget"
        case authenticationFailed = "authentication_failed"
        case failed
    }

    public var kind: Kind
    /// What a person should know; nil when all is well.
    public var reason: String?

    public init(_ kind: Kind, reason: String? = nil) {
        self.kind = kind
        self.reason = reason
    }

    /// Delivery has stopped until a person acts (fix the credentials, or the mapping and enable again).
    public var needsAPerson: Bool { self.kind == .authenticationFailed || self.kind == .failed }
}

/// Where the alert monitor reads delivery's state of a destination.
public protocol DeliveryStateSource: Sendable {
    func deliveryState(of destinationId: String) async -> DeliveryState
}
