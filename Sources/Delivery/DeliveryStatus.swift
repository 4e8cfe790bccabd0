/// What delivery is doing for a destination, as a person reads it on the destination.
public enum DeliveryStatus: Sendable, Hashable {
    /// Nothing queued.
    case idle
    /// Sending queued changes.
    case delivering
    /// Waiting before sending again (Salesforce unavailable, timeouts): resumes by itself.
    case backingOff(until: ContinuousClock.Instant, reason: String)
    /// Salesforce answered `REQUEST_LIMIT_EXCEEDED`: resumes by itself after a pause.
    case pausedAPILimit(reason: String)
    /// The connection reached the share of the daily allowance sfdest may use: resumes by itself
    /// when usage allows.
    case pausedAPIBudget(reason: String)
    /// Salesforce refused the connection's credentials: fix them with PUT /v1/connections/{id}.
    case authenticationFailed(reason: String)
    /// A reason a person must fix (e.g. the org lost a mapped field); changes stay queued.
    case failed(reason: String)

    /// The contract's short word for it.
    public var name: String {
        switch self {
        case .idle: return "idle"
        case .delivering: return "delivering"
        case .backingOff: return "backing_off"
        case .pausedAPILimit: return "paused_api_limit"
        case .pausedAPIBudget: return "paused_api_budget"
        case .authenticationFailed: return "authentication_failed"
        case .failed: return "failed"
        }
    }

    /// What a person should know, nil when all is well.
    public var reason: String? {
        switch self {
        case .idle, .delivering: return nil
        case .backingOff(_, let reason), .pausedAPILimit(let reason), .pausedAPIBudget(let reason), .authenticationFailed(let reason), .failed(let reason):
            return reason
        }
    }
}
