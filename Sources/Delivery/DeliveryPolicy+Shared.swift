import Foundation
import Store

/// Connection pauses shared by the processes of a deployment (`ConnectionPauseStore`): the one
/// that meets the trouble saves its pause, the others adopt it before their next call.
extension DeliveryPolicy {
    /// The connection's pause as the store keeps it; nil when it has none.
    func sharedPause(ofConnection connectionId: String) -> ConnectionPause? {
        guard let state = self.connections[connectionId], let pause = state.pause else { return nil }
        let kind: ConnectionPause.Kind
        switch pause.status {
        case .pausedAPILimit: kind = .apiLimit
        case .pausedAPIBudget: kind = .apiBudget
        case .authenticationFailed: kind = .credentialsRefused
        case .idle, .delivering, .backingOff, .failed: return nil
        }
        return ConnectionPause(
            connectionId: connectionId, kind: kind, reason: pause.status.reason ?? "", until: pause.until, refusals: state.authenticationRefusals
        )
    }

    /// Takes in the pauses the store keeps at `now`: one that lasts longer than what this process
    /// knows is adopted (with the refusals counted so far). A budget pause that ran out here and
    /// that the store no longer has was lifted by the process that read the org's usage: it is
    /// lifted here too, with no reading of its own. A pause of `wasShared` (the connections the
    /// store kept a pause for at the last look) that the store no longer has was ended by another
    /// process (new credentials, a destination enabled again, a batch that went through): it ends
    /// here too, however long it had to run.
    @discardableResult
    mutating func adopt(_ pauses: [ConnectionPause], now: Date, wasShared: Set<String> = []) -> Adopted {
        var kept: Set<String> = []
        var budgetLifted: Set<String> = []
        for shared in pauses {
            kept.insert(shared.connectionId)
            var state = self.connections[shared.connectionId, default: ConnectionState()]
            state.authenticationRefusals = max(state.authenticationRefusals, shared.refusals)
            // A pause that ran out is lifted by `admit`, except the budget's, which waits for a
            // reading of the usage (by whichever process takes the turn).
            let current = shared.kind == .apiBudget || shared.until > now
            if current, state.pause.map({ $0.until < shared.until }) ?? true {
                state.pause = Pause(until: shared.until, status: Self.status(of: shared))
            }
            self.connections[shared.connectionId] = state
            if current, shared.kind != .apiBudget {
                // Refused for every process: this one logs the resume too, when it sends again.
                self.refused(shared.connectionId, since: now, status: Self.status(of: shared))
            }
        }
        for (connectionId, state) in self.connections where !kept.contains(connectionId) {
            guard let pause = state.pause else { continue }
            let endedElsewhere = wasShared.contains(connectionId) && Self.isShareable(pause.status)
            if case .pausedAPIBudget = pause.status, pause.until <= now || endedElsewhere {
                self.connections[connectionId]?.pause = nil
                budgetLifted.insert(connectionId)
            } else if endedElsewhere {
                self.connections[connectionId]?.pause = nil
            }
        }
        return Adopted(kept: kept, budgetLifted: budgetLifted)
    }

    /// What `adopt` found.
    struct Adopted: Sendable, Equatable {
        /// The connections the store keeps a pause for.
        var kept: Set<String>
        /// The connections whose budget pause another process ended after reading the usage.
        var budgetLifted: Set<String>
    }

    /// Whether a pause of this status is one the store shares.
    static func isShareable(_ status: DeliveryStatus) -> Bool {
        switch status {
        case .pausedAPILimit, .pausedAPIBudget, .authenticationFailed: return true
        case .idle, .delivering, .backingOff, .failed: return false
        }
    }

    static func status(of pause: ConnectionPause) -> DeliveryStatus {
        switch pause.kind {
        case .apiLimit: .pausedAPILimit(reason: pause.reason)
        case .apiBudget: .pausedAPIBudget(reason: pause.reason)
        case .credentialsRefused: .authenticationFailed(reason: pause.reason)
        }
    }
}
