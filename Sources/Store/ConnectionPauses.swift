import Foundation

/// A connection's pause as every process sharing the store sees it: the org's API allowance used
/// up, the API budget reached, or the connection's credentials refused. One process meets the
/// trouble and saves the pause; the others adopt it before their next call, so the org is not
/// asked again by each of them.
public struct ConnectionPause: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// Salesforce answered `REQUEST_LIMIT_EXCEEDED`.
        case apiLimit
        /// The connection reached the share of the org's daily calls sfdest may use; the org's
        /// usage is read again (by one process) when the pause runs out.
        case apiBudget
        /// Salesforce refused the credentials; `refusals` in a row so far.
        case credentialsRefused
    }

    public var connectionId: String
    public var kind: Kind
    /// What a person is shown while it lasts.
    public var reason: String
    public var until: Date
    /// Refusals of the credentials in a row, for the growing wait between logins.
    public var refusals: Int

    public init(connectionId: String, kind: Kind, reason: String, until: Date, refusals: Int = 0) {
        self.connectionId = connectionId
        self.kind = kind
        self.reason = reason
        self.until = until
        self.refusals = refusals
    }
}

/// Connection pauses shared by the processes of a deployment. One row per paused connection; it
/// goes with the connection.
public protocol ConnectionPauseStore: Sendable {
    /// Keeps the connection's pause, replacing the one before.
    func savePause(_ pause: ConnectionPause) async throws
    /// Every connection's pause kept (one per paused connection, whether or not it ran out).
    func connectionPauses() async throws -> [ConnectionPause]
    /// Ends the connection's pause (the connection changed, or the org's usage allows again);
    /// with `ranOutBy`, only a pause that ended by then (a newer one another process just saved
    /// stays).
    func clearPause(connectionId: String, ranOutBy: Date?) async throws
    /// Keeps a destination's backoff after transient trouble (Salesforce unavailable, timeouts),
    /// replacing the one before, so that the processes that do not meet it (an `api` process, the
    /// one evaluating alerts) show it.
    func saveBackoff(_ backoff: DeliveryBackoff) async throws
    /// The destination's backoff kept, nil when it has none (whether or not it ran out).
    func deliveryBackoff(destinationId: String) async throws -> DeliveryBackoff?
    /// Ends the destination's backoff (a batch of it went through, or it changed).
    func clearBackoff(destinationId: String) async throws
}

/// A destination's backoff after transient trouble as the process that met it keeps it: every
/// process shows `backing_off` with the reason until it runs out or a batch goes through. Each
/// process still waits out only its own backoffs: another process may well get through.
public struct DeliveryBackoff: Sendable, Equatable {
    public var destinationId: String
    /// What a person is shown while it lasts.
    public var reason: String
    public var until: Date

    public init(destinationId: String, reason: String, until: Date) {
        self.destinationId = destinationId
        self.reason = reason
        self.until = until
    }
}
