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
}
