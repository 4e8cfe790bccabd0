import Activation
import Foundation
import Logging
import SalesforceAPI
import Store

/// What delivery does when Salesforce, the network or the org's limits get in the way: retries
/// and their retention window, the API budget, request-level failures, releasing a batch.
extension DeliveryService {
    /// A transient failure goes back to the queue, unless the record has kept failing past the
    /// retention window: then it fails with `RETRY_EXHAUSTED`, and a person is told why.
    func retryOrExhausted(_ record: ClaimedRecord, code: String, message: String, after: TimeInterval, outcomeUnknown: Bool = false) -> DeliveryResult {
        let waited = Date().timeIntervalSince(record.queuedAt)
        guard waited + after <= self.options.retention else {
            let hours = self.options.retention / 3600
            let window = hours >= 1 ? "\(Int(hours.rounded())) hours" : "\(Int(self.options.retention.rounded())) seconds"
            return .failed(
                code: "RETRY_EXHAUSTED",
                message: "kept failing transiently for more than \(window) after \(record.attempts + 1) attempts; last error \(code): \(message)",
                fields: []
            )
        }
        return .retry(code: code, message: message, at: Date().addingTimeInterval(after), outcomeUnknown: outcomeUnknown)
    }

    /// A claim must outlast any request that carries it, including one Salesforce applies late:
    /// never shorter than the settle time after an unknown outcome.
    var lease: TimeInterval { max(self.options.lease, self.ambiguousSettle) }

    var ambiguousSettle: TimeInterval {
        if let configured = self.options.ambiguousSettle { return configured }
        let timeout = self.clients.requestTimeout.components
        return 2 * (Double(timeout.seconds) + Double(timeout.attoseconds) / 1e18)
    }

    func overBudget(_ usage: APIUsage) -> Bool {
        usage.max > 0 && Double(usage.used) >= Double(usage.max) * self.options.apiBudgetShare
    }

    func pauseForBudget(_ connectionId: String, usage: APIUsage) {
        let share = Int((self.options.apiBudgetShare * 100).rounded())
        let reason = "paused: API budget: the connection used \(usage.used) of the org's \(usage.max) daily API calls; sfdest uses at most \(share)% and resumes by itself when usage allows"
        if self.connectionPauses[connectionId] == nil {
            self.logger.warning("API budget reached, pausing the connection", metadata: ["connection": "\(connectionId)", "used": "\(usage.used)", "max": "\(usage.max)"])
        }
        self.connectionPauses[connectionId] = (Date().addingTimeInterval(self.options.apiBudgetRecheck), .pausedAPIBudget(reason: reason))
    }

    /// Reads the org's usage (one API call) and says whether the budget allows sending again.
    func budgetAllows(_ connectionId: String) async -> Bool {
        do {
            let client = try await self.clients.client(connectionId: connectionId)
            let limits = try await client.limits()
            self.metrics.apiCall(connectionId: connectionId, usage: client.apiUsage)
            let usage = client.apiUsage ?? limits.dailyApiRequests.map { APIUsage(used: $0.used, max: $0.max) }
            if let usage, self.overBudget(usage) {
                self.pauseForBudget(connectionId, usage: usage)
                return false
            }
            self.logger.notice("API budget allows sending again, resuming the connection", metadata: ["connection": "\(connectionId)"])
            return true
        } catch {
            if let pause = self.connectionPauses[connectionId] {
                self.connectionPauses[connectionId] = (Date().addingTimeInterval(self.options.apiBudgetRecheck), pause.status)
            }
            return false
        }
    }

    /// A request-level failure: nothing of the batch was written. The records go back to the queue;
    /// the destination pauses as the failure requires.
    func handle(_ error: SalesforceError, claimed: [ClaimedRecord], destination: Destination, at now: Date) async {
        let reason = [error.code, error.message, error.hint].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
        switch (error.kind, error.disposition) {
        case (.authentication, .permanent), (_, .reauthenticate):
            // Refused credentials are tried again less and less often (the org may lock a user
            // after repeated failed logins), and at once when the connection gets new ones.
            let refusals = (self.authenticationRefusals[destination.connectionId] ?? 0) + 1
            self.authenticationRefusals[destination.connectionId] = refusals
            let pause = min(3_600, self.options.authenticationPause * pow(2, Double(min(refusals - 1, 12))))
            self.logger.warning("Salesforce refused the connection's credentials", metadata: ["destination": "\(destination.id)", "reason": "\(reason)", "nextTrySeconds": "\(Int(pause))"])
            self.connectionPauses[destination.connectionId] = (Date().addingTimeInterval(pause), .authenticationFailed(reason: reason))
            await self.markConnection(destination.connectionId, failed: reason)
            await self.requeue(claimed, destination: destination, code: error.code, message: error.message, after: pause, countAttempt: false)
        case (_, .throttled):
            self.logger.warning("Salesforce API allowance used up", metadata: ["destination": "\(destination.id)", "reason": "\(reason)"])
            // The org's allowance is shared by every destination of the connection: pause them all,
            // and never re-authenticate for it.
            self.connectionPauses[destination.connectionId] = (Date().addingTimeInterval(self.options.throttlePause), .pausedAPILimit(reason: reason))
            await self.requeue(claimed, destination: destination, code: error.code, message: error.message, after: self.options.throttlePause, countAttempt: false)
        case (_, .retryLater):
            let failures = (self.consecutiveFailures[destination.id] ?? 0) + 1
            self.consecutiveFailures[destination.id] = failures
            let wait = self.options.backoff(attempt: failures)
            self.logger.notice("Salesforce call failed, retrying later", metadata: ["destination": "\(destination.id)", "reason": "\(reason)", "waitSeconds": "\(Int(wait))"])
            self.statuses[destination.id] = .backingOff(until: .now + .seconds(wait), reason: reason)
            await self.pause(destination.id, for: wait)
            // A timeout or a lost connection leaves the outcome unknown: the request may still be
            // applied. Its records wait until it cannot land any more before they go again.
            let unknown = error.kind == .transport
            let settle = unknown ? self.ambiguousSettle : 0
            await self.requeue(
                claimed, destination: destination, code: error.code, message: error.message, after: max(wait, settle),
                countAttempt: true, outcomeUnknown: unknown
            )
        case (_, .permanent):
            // The request as a whole is wrong (e.g. INVALID_FIELD: the org lost a mapped field).
            // Stop this destination loudly; its changes stay queued for after the fix.
            let message = "Salesforce refused every request of this destination: \(reason). Fix it, then enable the destination again (POST /v1/destinations/\(destination.id)/enable); queued changes are kept."
            self.logger.error("destination stopped", metadata: ["destination": "\(destination.id)", "reason": "\(reason)"])
            do {
                if var stored = try await self.store.destination(id: destination.id) {
                    stored.deliveryError = message
                    try await self.store.saveDestination(stored)
                }
            } catch {
                self.logger.error("could not save the destination's error", metadata: ["destination": "\(destination.id)", "error": "\(error)"])
            }
            self.statuses[destination.id] = .failed(reason: message)
            await self.requeue(claimed, destination: destination, code: error.code, message: error.message, after: 0, countAttempt: false)
        }
    }

    func pause(_ destinationId: String, for seconds: TimeInterval) async {
        self.pausedUntil[destinationId] = Date().addingTimeInterval(seconds)
    }

    /// Puts a whole batch back in the queue, due after `after` seconds. Trouble that is no record's
    /// fault (a paused connection) does not count as an attempt toward the retention window.
    func requeue(
        _ claimed: [ClaimedRecord], destination: Destination, code: String, message: String, after: TimeInterval,
        countAttempt: Bool, outcomeUnknown: Bool = false
    ) async {
        var results: [String: DeliveryResult] = [:]
        for record in claimed {
            results[record.recordId] = countAttempt
                ? self.retryOrExhausted(record, code: code, message: message, after: after, outcomeUnknown: outcomeUnknown)
                : .postpone(at: Date().addingTimeInterval(after), outcomeUnknown: outcomeUnknown)
        }
        do {
            // In its own task: a sender cancelled at shutdown must still release its records.
            let store = self.store
            let destinationId = destination.id
            try await Task { try await store.complete(destinationId: destinationId, results: results, now: Date()) }.value
            self.metrics.record(results, claimed: claimed, destinationId: destinationId)
        } catch {
            // The claims expire after their lease and are taken again: nothing is lost.
            self.logger.error("could not requeue a batch; it is retried after its lease", metadata: ["destination": "\(destination.id)", "error": "\(error)"])
        }
    }

    func markConnection(_ connectionId: String, failed reason: String) async {
        do {
            guard var connection = try await self.store.connection(id: connectionId), connection.status != "authentication_failed" || connection.statusMessage != reason else { return }
            connection.status = "authentication_failed"
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
