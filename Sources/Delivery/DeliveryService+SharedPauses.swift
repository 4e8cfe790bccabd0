import Foundation
import Store

/// Connection pauses across the processes of a deployment (`sharesPauses`, PostgreSQL): a pause
/// this process sets is saved for the others, and theirs are adopted at each pass of delivery, so
/// the org's allowance, the budget or refused credentials stop every process after one call, not
/// one per process. When a budget pause runs out, one process (the turn `budget:<connection>`)
/// reads the org's usage again and the others follow what it saved.
extension DeliveryService {
    /// The turn under which one process reads a paused connection's usage again.
    static func budgetTurn(_ connectionId: String) -> String { "budget:\(connectionId)" }

    /// Saves the connection's pause, as this process has it, for the other processes.
    func sharePause(_ connectionId: String) async {
        guard self.sharesPauses, let pause = self.policy.sharedPause(ofConnection: connectionId) else { return }
        do {
            try await self.store.savePause(pause)
            self.sharedPauses.insert(connectionId)
        } catch {
            self.logger.warning("could not share the connection's pause; other processes find the trouble on their next call", metadata: [
                "connection": "\(connectionId)", "error": "\(error)",
            ])
        }
    }

    /// Adopts the pauses other processes saved (one small read: a row per paused connection).
    func adoptSharedPauses(now: Date) async {
        guard self.sharesPauses else { return }
        do {
            let adopted = self.policy.adopt(try await self.store.connectionPauses(), now: now, wasShared: self.sharedPauses)
            self.sharedPauses = adopted.kept
            for connectionId in adopted.budgetLifted { await self.budgetReadElsewhere(connectionId) }
        } catch {
            self.logger.warning("could not read the connections' shared pauses", metadata: ["error": "\(error)"])
        }
    }

    /// Another process read the connection's usage and found that it allows sending: the usage
    /// this process saw last is older, and must not pause it again.
    func budgetReadElsewhere(_ connectionId: String) async {
        self.logger.notice("API budget allows sending again (read by another process), resuming the connection", metadata: ["connection": "\(connectionId)"])
        try? await self.clients.client(connectionId: connectionId).forgetUsage()
    }

    /// A batch went through: a shared pause of its connection that ran out is over for everyone.
    func sharedPauseEnded(_ connectionId: String, now: Date) async {
        guard self.sharesPauses, self.sharedPauses.remove(connectionId) != nil else { return }
        try? await self.store.clearPause(connectionId: connectionId, ranOutBy: now)
    }

    /// The connection changed (new credentials, a destination enabled): its pause ends for everyone.
    func clearSharedPause(_ connectionId: String) async {
        guard self.sharesPauses else { return }
        self.sharedPauses.remove(connectionId)
        do {
            try await self.store.clearPause(connectionId: connectionId, ranOutBy: nil)
        } catch {
            self.logger.warning("could not end the connection's shared pause", metadata: ["connection": "\(connectionId)", "error": "\(error)"])
        }
    }

    /// With shared pauses, whether this process is the one to read the connection's usage now:
    /// `.read` under the turn (released with `endBudgetTurn`); otherwise what another process
    /// decided meanwhile (`.lifted`, `.paused`).
    func budgetTurn(_ connectionId: String, now: Date) async -> BudgetTurn {
        guard self.sharesPauses else { return .read }
        do {
            guard try await self.store.takeTurn(Self.budgetTurn(connectionId), holder: self.holder, lease: 30, now: now) else { return .paused }
            // Another process may have decided between this pass's read of the pauses and the turn.
            let stored = try await self.store.connectionPauses().first { $0.connectionId == connectionId }
            guard let stored else {
                await self.endBudgetTurn(connectionId)
                return .lifted
            }
            guard stored.until <= now else {
                self.policy.adopt([stored], now: now)
                await self.endBudgetTurn(connectionId)
                return .paused
            }
            return .read
        } catch {
            return .paused
        }
    }

    func endBudgetTurn(_ connectionId: String) async {
        guard self.sharesPauses else { return }
        try? await self.store.releaseTurn(Self.budgetTurn(connectionId), holder: self.holder)
    }

    /// A destination's delivery as the processes that deliver it share it through the store.
    func sharedStatus(of destinationId: String, inFlight: Int) async -> DeliveryStatus {
        do {
            guard let destination = try await self.store.destination(id: destinationId) else { return .idle }
            if let error = destination.deliveryError { return .failed(reason: error) }
            if let pause = try await self.store.connectionPauses().first(where: { $0.connectionId == destination.connectionId }),
               pause.kind == .apiBudget || pause.until > Date() {
                return DeliveryPolicy.status(of: pause)
            }
            if let backoff = await self.sharedBackoff(of: destinationId) { return backoff }
            return inFlight > 0 ? .delivering : .idle
        } catch {
            self.logger.warning("could not read the destination's shared delivery state", metadata: ["destination": "\(destinationId)", "error": "\(error)"])
            return .idle
        }
    }

    // MARK: Backoffs

    /// Saves the destination's backoff for the processes that did not meet the trouble.
    func shareBackoff(_ backoff: DeliveryBackoff) async {
        guard self.sharesPauses else { return }
        do {
            try await self.store.saveBackoff(backoff)
            self.sharedBackoffs.insert(backoff.destinationId)
        } catch {
            self.logger.warning("could not share the destination's backoff; other processes show it as delivering", metadata: [
                "destination": "\(backoff.destinationId)", "error": "\(error)",
            ])
        }
    }

    /// A batch went through: the backoff this process saved is over (no write when it saved none).
    func sharedBackoffEnded(_ destinationId: String) async {
        guard self.sharesPauses, self.sharedBackoffs.contains(destinationId) else { return }
        await self.clearSharedBackoff(destinationId)
    }

    /// Ends the destination's saved backoff, whichever process saved it.
    func clearSharedBackoff(_ destinationId: String) async {
        guard self.sharesPauses else { return }
        do {
            try await self.store.clearBackoff(destinationId: destinationId)
            self.sharedBackoffs.remove(destinationId)
        } catch {
            self.logger.warning("could not end the destination's shared backoff", metadata: ["destination": "\(destinationId)", "error": "\(error)"])
        }
    }

    /// The backoff another process saved for the destination, while it lasts.
    func sharedBackoff(of destinationId: String) async -> DeliveryStatus? {
        do {
            guard let backoff = try await self.store.deliveryBackoff(destinationId: destinationId) else { return nil }
            let left = backoff.until.timeIntervalSinceNow
            guard left > 0 else { return nil }
            return .backingOff(until: .now + .seconds(left), reason: backoff.reason)
        } catch {
            self.logger.warning("could not read the destination's shared backoff", metadata: ["destination": "\(destinationId)", "error": "\(error)"])
            return nil
        }
    }

    enum BudgetTurn {
        case read, lifted, paused
    }
}
