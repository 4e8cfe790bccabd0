import Activation
import Foundation
import Logging
import SalesforceAPI
import Store

/// What delivery does when Salesforce, the network or the org's limits get in the way: reading the
/// API budget, saving and logging request-level failures, releasing a batch. What each of them
/// means (waits, pauses, statuses, the retention window) is `DeliveryPolicy`'s to decide.
extension DeliveryService {
    /// Says once that a connection reached its API budget, and pauses it (for every process).
    func pauseForBudget(_ connectionId: String, usage: APIUsage, now: Date) async {
        if self.policy.pauseForBudget(connectionId: connectionId, used: usage.used, max: usage.max, now: now) {
            self.logger.warning("API budget reached, pausing the connection", metadata: ["connection": "\(connectionId)", "used": "\(usage.used)", "max": "\(usage.max)"])
        }
        await self.sharePause(connectionId)
    }

    /// Reads the org's usage (one API call) and says whether the budget allows sending again. With
    /// shared pauses one process reads it; the others follow what it decides.
    func budgetAllows(_ connectionId: String) async -> Bool {
        switch await self.budgetTurn(connectionId, now: Date()) {
        case .paused: return false
        case .lifted:
            await self.budgetReadElsewhere(connectionId)
            return true
        case .read:
            let allows = await self.readBudget(connectionId)
            await self.endBudgetTurn(connectionId)
            return allows
        }
    }

    /// Reads the org's usage (one API call): pauses the connection again, or ends its pause.
    private func readBudget(_ connectionId: String) async -> Bool {
        do {
            let client = try await self.clients.client(connectionId: connectionId)
            let limits = try await client.limits()
            self.metrics.apiCall(connectionId: connectionId, usage: client.apiUsage)
            let usage = client.apiUsage ?? limits.dailyApiRequests.map { APIUsage(used: $0.used, max: $0.max) }
            if let usage, self.policy.overBudget(used: usage.used, max: usage.max) {
                await self.pauseForBudget(connectionId, usage: usage, now: Date())
                return false
            }
            await self.clearSharedPause(connectionId)
            self.logger.notice("API budget allows sending again, resuming the connection", metadata: ["connection": "\(connectionId)"])
            return true
        } catch {
            self.policy.budgetUnread(connectionId: connectionId, now: Date())
            await self.sharePause(connectionId)
            return false
        }
    }

    /// What request-level trouble a Salesforce failure is.
    static func trouble(of error: SalesforceError) -> DeliveryPolicy.RequestTrouble {
        switch (error.kind, error.disposition) {
        case (.authentication, .permanent), (_, .reauthenticate): return .credentialsRefused
        case (_, .throttled): return .throttled
        case (_, .retryLater): return .transient(outcomeUnknown: error.kind == .transport)
        case (_, .permanent): return .permanent
        }
    }

    /// A request-level failure: nothing of the batch was written. The records go back to the queue;
    /// the destination pauses as the failure requires.
    func handle(_ error: SalesforceError, claimed: [ClaimedRecord], destination: Destination) async {
        let reason = [error.code, error.message, error.hint].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
        let now = Date()
        let decision = self.policy.requestFailed(
            Self.trouble(of: error), reason: reason, destinationId: destination.id, connectionId: destination.connectionId,
            now: now, instant: .now, jitter: self.jitter()
        )
        switch decision {
        case .credentialsRefused(let pause):
            self.logger.warning("Salesforce refused the connection's credentials", metadata: ["destination": "\(destination.id)", "reason": "\(reason)", "nextTrySeconds": "\(Int(pause))"])
            await self.sharePause(destination.connectionId)
            await self.markConnection(destination.connectionId, failed: reason)
            await self.requeue(claimed, destination: destination, code: error.code, message: error.message, after: pause, countAttempt: false)
        case .throttled(let pause):
            // Said when the refusals start; each probe after that (every `pause`) only in debug.
            let first = self.policy.refusedSince(destination.connectionId) == now
            self.logger.log(
                level: first ? .warning : .debug, "Salesforce API allowance used up",
                metadata: ["destination": "\(destination.id)", "reason": "\(reason)", "nextTrySeconds": "\(Int(pause))"]
            )
            // The usage a refusal reports (all used) must not hold the next batch back as over the
            // budget: that batch is the probe, and its answer tells the usage as it is then.
            try? await self.clients.client(connectionId: destination.connectionId).forgetUsage()
            self.concurrencyCongested(destination.connectionId, why: error.code)
            await self.sharePause(destination.connectionId)
            await self.requeue(claimed, destination: destination, code: error.code, message: error.message, after: pause, countAttempt: false)
        case .backingOff(let wait, let requeueAfter, let outcomeUnknown):
            self.concurrencyCongested(destination.connectionId, why: error.code)
            self.logger.notice("Salesforce call failed, retrying later", metadata: ["destination": "\(destination.id)", "reason": "\(reason)", "waitSeconds": "\(Int(wait))"])
            await self.shareBackoff(DeliveryBackoff(destinationId: destination.id, reason: reason, until: now.addingTimeInterval(wait)))
            await self.requeue(
                claimed, destination: destination, code: error.code, message: error.message, after: requeueAfter,
                countAttempt: true, outcomeUnknown: outcomeUnknown
            )
        case .stop(let message):
            // The request as a whole is wrong (e.g. INVALID_FIELD: the org lost a mapped field).
            // Stop this destination loudly; its changes stay queued for after the fix.
            self.logger.error("destination stopped", metadata: ["destination": "\(destination.id)", "reason": "\(reason)"])
            do {
                if var stored = try await self.store.destination(id: destination.id) {
                    stored.deliveryError = message
                    try await self.store.saveDestination(stored)
                }
            } catch {
                self.logger.error("could not save the destination's error", metadata: ["destination": "\(destination.id)", "error": "\(error)"])
            }
            self.policy.destinationFailed(destination.id, reason: message)
            await self.requeue(claimed, destination: destination, code: error.code, message: error.message, after: 0, countAttempt: false)
        }
    }

    /// Puts a whole batch back in the queue, due after `after` seconds. Trouble that is no record's
    /// fault (a paused connection) does not count as an attempt toward the retention window.
    func requeue(
        _ claimed: [ClaimedRecord], destination: Destination, code: String, message: String, after: TimeInterval,
        countAttempt: Bool, outcomeUnknown: Bool = false
    ) async {
        let now = Date()
        let results = self.policy.requeue(
            claimed, code: code, message: message, after: after, countAttempt: countAttempt, outcomeUnknown: outcomeUnknown, now: now
        )
        do {
            // In its own task: a sender cancelled at shutdown must still release its records.
            let store = self.store
            let destinationId = destination.id
            let claim = claimed.first?.claim ?? 0
            let completion = try await Task { try await store.complete(destinationId: destinationId, claim: claim, results: results, now: now) }.value
            self.metrics.record(results.filter { !completion.fenced.contains($0.key) }, claimed: claimed, destinationId: destinationId)
            self.reportFenced(completion, destinationId: destinationId)
            // Put back for after a pause that ended meanwhile (the destination enabled again, new
            // credentials): due now, not after the pause.
            if !countAttempt, after > 0, !self.stopping,
               !self.policy.isPaused(destinationId: destinationId, connectionId: destination.connectionId, now: Date()) {
                await self.rescheduleQueued(destinationId)
            }
        } catch {
            // The claims expire after their lease and are taken again: nothing is lost.
            self.logger.error("could not requeue a batch; it is retried after its lease", metadata: ["destination": "\(destination.id)", "error": "\(error)"])
        }
    }

    func markConnection(_ connectionId: String, failed reason: String) async {
        do {
            guard var connection = try await self.store.connection(id: connectionId), connection.status != .authenticationFailed || connection.statusMessage != reason else { return }
            connection.status = .authenticationFailed
            connection.statusMessage = reason
            try await self.store.saveConnection(connection)
        } catch {
            self.logger.error("could not save the connection's status", metadata: ["connection": "\(connectionId)", "error": "\(error)"])
        }
    }

    static func wireValue(_ value: Activation.FieldValue) -> SalesforceAPI.FieldValue {
        switch value {
        case .string(let text): return .string(text)
        case .integer(let number): return .integer(Int(number))
        case .double(let number): return .number(number)
        case .bool(let flag): return .bool(flag)
        case .null: return .null
        }
    }
}
