import Activation
import Foundation
import Logging
import SalesforceAPI
import ServiceLifecycle
import Store

/// Tuning of delivery.
public struct DeliveryOptions: Sendable {
    /// Records per sObject Collections request (Salesforce's maximum is 200).
    public var batchSize = 200
    /// Requests in flight at once per connection to start with (every destination of a
    /// connection shares them; each destination may always have one).
    public var concurrentRequests = 4
    /// How far the adaptive limit may raise the requests in flight per connection (`AdaptiveConcurrency`):
    /// Salesforce allows 25 long-running requests at once in a production org or sandbox, 5 in a
    /// developer or trial org. At or below `concurrentRequests` the number stays fixed.
    public var maxConcurrentRequests = 25
    /// How long a change may wait for company before a partial batch is sent, so load fills
    /// batches of 200 (a full batch goes at once).
    public var linger: Duration = .milliseconds(250)
    /// How long a claim lasts before a crashed or stuck send is taken again. Never less than the
    /// settle time (`ambiguousSettle`, by default twice the Salesforce request timeout).
    public var lease: TimeInterval = 120
    /// How often due retries are looked for when nothing wakes delivery.
    public var pollInterval: Duration = .milliseconds(250)
    /// Backoff after a transient failure: base * 2^(attempt-1), capped, with ±20% jitter.
    public var backoffBase: TimeInterval = 1
    public var backoffCap: TimeInterval = 300
    /// How long to wait after Salesforce says the API allowance is used up
    /// (`REQUEST_LIMIT_EXCEEDED`) before the next batch tries again. A refused request costs the
    /// org nothing and the next batch itself is the probe (no extra call), so delivery resumes
    /// within this of the allowance coming back.
    public var throttlePause: TimeInterval = 5
    /// How long to wait before trying credentials Salesforce refused again; the wait doubles with
    /// each refusal, up to an hour, and ends at once when the connection gets new credentials.
    public var authenticationPause: TimeInterval = 60
    /// The share of the org's daily API allowance this service may use (from `Sforce-Limit-Info`).
    /// At it, the connection's destinations pause until usage allows again.
    public var apiBudgetShare = 0.8
    /// While paused on the budget, how often the org's usage is read again (one API call).
    public var apiBudgetRecheck: TimeInterval = 60
    /// After a request whose outcome is unknown (timed out, connection lost), Salesforce may still
    /// apply it later. Its records wait this long before they are sent again, so a late write can
    /// never land after a newer one. Nil: twice the Salesforce request timeout.
    public var ambiguousSettle: TimeInterval?
    /// A record whose transient failures keep it waiting for retries longer than this in all
    /// becomes failed with `RETRY_EXHAUSTED` (never silently dropped). Only the waits between its
    /// attempts count: time the destination is paused (credentials refused, API budget, disabled)
    /// or the record waits behind others does not.
    public var retention: TimeInterval = 72 * 3600
    /// At shutdown, how long requests in flight may take to finish before they are cancelled and
    /// their records released for the next start.
    public var drainTimeout: Duration = .seconds(6)
    public init() {}

    /// The wait before attempt number `attempt` (1 = the first retry).
    public func backoff(attempt: Int) -> TimeInterval {
        var random = SystemRandomNumberGenerator()
        return DeliveryPolicy.backoff(attempt: attempt, base: self.backoffBase, cap: self.backoffCap, using: &random)
    }
}

/// The way out: for each enabled destination, claims due records (never one already in flight),
/// sends them in sObject Collections requests of up to 200 with `allOrNone:false`, and applies
/// every record's result. A few requests per destination are in flight at once.
public actor DeliveryService: Service {
    let store: any ConfigurationStore & DeliveryQueue & BulkQueue & ConnectionPauseStore & TurnStore
    let clients: SalesforceClients
    /// Processes share the store (PostgreSQL): connection pauses are saved for all of them.
    let sharesPauses: Bool
    /// This process's token for the budget turns.
    let holder = Int64.random(in: 1...Int64.max)
    /// The connections the store kept a pause for at the last look.
    var sharedPauses: Set<String> = []
    /// The destinations whose backoff this process saved for the others and has not ended.
    var sharedBackoffs: Set<String> = []
    let logger: Logger
    let options: DeliveryOptions
    let metrics: DeliveryMetrics
    /// Every decision of delivery and the state it rests on (pauses, backoffs, statuses, senders).
    var policy: DeliveryPolicy
    /// Set at shutdown: senders finish their current request and start no other.
    var stopping = false
    /// Set when delivery runs in this process.
    var delivers = false
    /// Where the backoff's jitter comes from.
    var random = SystemRandomNumberGenerator()
    /// The bulk lane's workers and backoffs (`BulkDelivery.swift`).
    var bulkLanes = BulkLanes()
    private let wakeStream: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    public init(
        store: any ConfigurationStore & DeliveryQueue & BulkQueue & ConnectionPauseStore & TurnStore, clients: SalesforceClients, logger: Logger,
        options: DeliveryOptions = DeliveryOptions(), metrics: DeliveryMetrics = DeliveryMetrics(), sharesPauses: Bool = false
    ) {
        self.sharesPauses = sharesPauses
        self.metrics = metrics
        self.store = store
        self.clients = clients
        self.logger = logger
        self.options = options
        self.policy = DeliveryPolicy(options: options, requestTimeout: clients.requestTimeout)
        (self.wakeStream, self.wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// New changes were queued for these destinations.
    public nonisolated func nudge(_ destinationIds: [String]) {
        self.wake.yield()
    }

    /// A destination or its connection changed (enabled, mappings fixed, new credentials): clear its
    /// pauses and send what waits now. `heardBySignal`: another process made the change and already
    /// ended the connection's shared pause; the queued records are made due here too, since a batch
    /// this process put back while the change was made may have been postponed by the pause.
    public func destinationChanged(_ destinationId: String, heardBySignal: Bool = false) async {
        self.policy.destinationChanged(destinationId)
        if !heardBySignal { await self.clearSharedBackoff(destinationId) }
        let destination = try? await self.store.destination(id: destinationId)
        if destination?.status == .pausedPolicy {
            // A label broke a policy: senders give back what they hold before their next request
            // (the store claims nothing more for it); its connection is none of this.
            self.policy.holdBack(destinationId)
            return
        }
        if let connectionId = destination?.connectionId {
            self.policy.connectionChanged(connectionId)
            // The usage seen last may be a refusal's (all used): the next answer says what it is now.
            try? await self.clients.client(connectionId: connectionId).forgetUsage()
            // The process that made the change ends the pause for every process, then tells them.
            if !heardBySignal { await self.clearSharedPause(connectionId) }
        }
        await self.rescheduleQueued(destinationId)
        self.wake.yield()
    }

    /// Makes the destination's queued records not in flight due now.
    func rescheduleQueued(_ destinationId: String) async {
        do {
            try await self.store.reschedule(destinationId: destinationId, at: Date())
        } catch {
            self.logger.error("could not reschedule queued records", metadata: ["destination": "\(destinationId)", "error": "\(error)"])
        }
    }

    /// What delivery is doing for a destination. In a process that does not deliver, beside
    /// processes that do (an `api` process), what the store shares: the error that stopped the
    /// destination, its connection's pause, and `inFlight` (its records in flight, when known).
    /// In a process that delivers beside others, its own state, or another process's backoff when
    /// this one is idle (a process whose requests go through shows `delivering`).
    public func status(of destinationId: String, inFlight: Int? = nil) async -> DeliveryStatus {
        guard self.sharesPauses else { return self.policy.status(of: destinationId) }
        guard self.delivers else { return await self.sharedStatus(of: destinationId, inFlight: inFlight ?? 0) }
        let own = self.policy.status(of: destinationId)
        switch own {
        case .idle: return await self.sharedBackoff(of: destinationId) ?? own
        case .delivering, .backingOff, .pausedAPILimit, .pausedAPIBudget, .authenticationFailed, .failed: return own
        }
    }

    public func run() async throws {
        self.delivers = true
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { [wake, options] in
                // Ends quietly when the group is cancelled at shutdown.
                while (try? await Task.sleep(for: options.pollInterval)) != nil {
                    wake.yield()
                }
            }
            for await _ in self.wakeStream.cancelOnGracefulShutdown() {
                for destination in await self.destinationsWithDueWork() {
                    self.policy.senderStarted(destination.id)
                    group.addTask { await self.work(destination) }
                }
                for destination in await self.destinationsWithBulkWork() {
                    group.addTask { await self.bulkWork(destination) }
                }
            }
            // Shutting down: no new requests; those in flight get a moment to finish and record
            // their results, then are cancelled (their records are released, never lost).
            self.stopping = true
            let deadline = ContinuousClock.now + self.options.drainTimeout
            while self.policy.sendersRunning, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(20))
            }
            group.cancelAll()
        }
    }

    /// Enabled destinations that may send now and have room for another request in flight.
    private func destinationsWithDueWork() async -> [Destination] {
        let now = Date()
        var ready: [Destination] = []
        await self.adoptSharedPauses(now: now)
        do {
            for destination in try await self.store.destinations() where destination.status == .enabled {
                var admission = self.policy.admit(
                    destinationId: destination.id, connectionId: destination.connectionId, deliveryError: destination.deliveryError, now: now
                )
                if admission == .recheckBudget {
                    // Read the org's usage again: resume only when the budget allows.
                    guard await self.budgetAllows(destination.connectionId) else { continue }
                    admission = self.policy.admitAfterBudgetCheck(destinationId: destination.id, connectionId: destination.connectionId)
                }
                guard case .open(let running) = admission else { continue }
                guard let due = try await self.store.nextDue(destinationId: destination.id) else {
                    self.policy.nothingQueued(destination.id, sendersRunning: running)
                    continue
                }
                if due <= now { ready.append(destination) }
            }
        } catch {
            self.logger.error("could not read the queues", metadata: ["error": "\(error)"])
        }
        return ready
    }

    /// One sender for a destination: claims and sends until nothing is due or trouble stops it.
    private func work(_ destination: Destination) async {
        defer {
            self.policy.senderEnded(destination.id)
            self.wake.yield()
        }
        var claimed: [ClaimedRecord] = []
        while !Task.isCancelled && !self.stopping {
            let now = Date()
            if self.policy.isPaused(destinationId: destination.id, connectionId: destination.connectionId, now: now) {
                await self.giveBack(claimed, destination: destination)
                return
            }
            if claimed.isEmpty {
                do {
                    claimed = try await self.store.claim(
                        destinationId: destination.id, limit: self.options.batchSize, lease: self.policy.lease, now: now,
                        partialAfter: self.policy.linger
                    )
                    if claimed.isEmpty {
                        // Nothing due, or a partial batch waiting for company: come back when its
                        // oldest record has waited the linger.
                        let nextDue = try await self.store.nextDue(destinationId: destination.id)
                        guard let wait = self.policy.lingerWait(nextDue: nextDue, now: Date()) else { return }
                        if wait > 0 { try await Task.sleep(for: .milliseconds(Int64(wait * 1000) + 1)) }
                        continue
                    }
                } catch {
                    if !(error is CancellationError) {
                        self.logger.error("claiming records failed", metadata: ["destination": "\(destination.id)", "error": "\(error)"])
                    }
                    return
                }
            }
            // A full batch means more may be waiting: let another sender start beside this one.
            if claimed.count == self.options.batchSize {
                self.policy.claimedFullBatch(destination.id)
                self.wake.yield()
            }
            // Paused while it claimed (another sender's trouble, a policy): nothing goes out.
            if self.policy.isPaused(destinationId: destination.id, connectionId: destination.connectionId, now: Date()) {
                await self.giveBack(claimed, destination: destination)
                return
            }
            guard let next = await self.send(claimed, for: destination) else { return }
            claimed = next
            // The connection's limit came down: this destination's extra sender stops.
            if self.policy.shouldShrink(destinationId: destination.id, connectionId: destination.connectionId) {
                await self.giveBack(claimed, destination: destination)
                return
            }
        }
        if !claimed.isEmpty {
            await self.requeue(claimed, destination: destination, code: "SHUTDOWN", message: "the service is stopping", after: 0, countAttempt: false)
        }
    }

    /// The connection's requests in flight in this process: its limit now, and how many senders
    /// run for it; nil in a process that does not deliver (an `api` process beside workers).
    public func concurrency(ofConnection connectionId: String) -> (limit: Int, inFlight: Int)? {
        guard self.delivers || !self.sharesPauses else { return nil }
        return (self.policy.concurrencyLimit(connectionId), self.policy.senders(onConnection: connectionId))
    }

    /// An answer adjusts the connection's limit of requests in flight.
    func concurrencyAnswered(_ connectionId: String, latency: TimeInterval, records: Int, lockErrors: Int, now: Date) {
        guard let limit = self.policy.answered(connectionId: connectionId, latency: latency, records: records, lockErrors: lockErrors, now: now) else { return }
        self.concurrencyChanged(connectionId, limit: limit, why: lockErrors > 0 ? "UNABLE_TO_LOCK_ROW in \(lockErrors) of \(records) records" : "latency \(Int(latency * 1000)) ms")
    }

    /// Salesforce pushed back on a request of the connection: its limit comes down.
    func concurrencyCongested(_ connectionId: String, why: String) {
        guard let limit = self.policy.congested(connectionId: connectionId, now: Date()) else { return }
        self.concurrencyChanged(connectionId, limit: limit, why: why)
    }

    private func concurrencyChanged(_ connectionId: String, limit: Int, why: String) {
        self.metrics.concurrency(connectionId: connectionId, limit: limit)
        self.logger.debug("requests in flight per connection adjusted", metadata: ["connection": "\(connectionId)", "limit": "\(limit)", "why": "\(why)"])
    }

    /// A paused sender gives back what it holds, unsent.
    private func giveBack(_ claimed: [ClaimedRecord], destination: Destination) async {
        guard !claimed.isEmpty else { return }
        await self.requeue(claimed, destination: destination, code: "PAUSED", message: "delivery paused", after: 0, countAttempt: false)
    }

    /// Sends one batch, applies the answer and, in the same store transaction, claims the next
    /// batch (empty when none is ready); nil when the destination must stop for now.
    private func send(_ claimed: [ClaimedRecord], for destination: Destination) async -> [ClaimedRecord]? {
        do {
            let client = try await self.clients.client(connectionId: destination.connectionId)
            if let usage = client.apiUsage, self.policy.overBudget(used: usage.used, max: usage.max) {
                await self.pauseForBudget(destination.connectionId, usage: usage, now: Date())
                await self.requeue(claimed, destination: destination, code: "API_BUDGET", message: "paused: the connection used \(usage.used) of \(usage.max) daily API calls", after: 0, countAttempt: false)
                return nil
            }
            let started = ContinuousClock.now
            let written = try await self.renewingLease(of: claimed, destinationId: destination.id) {
                try await self.write(claimed, destination: destination, client: client)
            }
            let latency = (ContinuousClock.now - started).inSeconds
            guard written.count == claimed.count else {
                throw SalesforceError(
                    kind: .invalidResponse, disposition: .retryLater, code: "INVALID_RESPONSE",
                    message: "Salesforce answered \(written.count) results for \(claimed.count) records"
                )
            }
            let answered = Date()
            var outcomes: [String: DeliveryResult] = [:]
            for (record, answer) in zip(claimed, written) {
                outcomes[record.recordId] = self.outcome(of: answer, for: record, now: answered)
            }
            let lockErrors = outcomes.values.filter { if case .retry(code: "UNABLE_TO_LOCK_ROW", _, _, _) = $0 { return true } else { return false } }.count
            self.concurrencyAnswered(destination.connectionId, latency: latency, records: claimed.count, lockErrors: lockErrors, now: answered)
            // Salesforce holds these now: record it even if shutdown cancels this sender meanwhile.
            let store = self.store
            let destinationId = destination.id
            let paused = self.policy.isPaused(destinationId: destination.id, connectionId: destination.connectionId, now: answered)
            // A sender about to stop (a pause, shutdown, the connection's limit come down) claims no next batch.
            let stops = self.stopping || paused || self.policy.shouldShrink(destinationId: destination.id, connectionId: destination.connectionId)
            let (limit, lease, linger) = (stops ? 0 : self.options.batchSize, self.policy.lease, self.policy.linger)
            let claim = claimed.first?.claim ?? 0
            let completion = try await Task { [outcomes] in
                try await store.complete(
                    destinationId: destinationId, claim: claim, results: outcomes, now: answered, thenClaim: limit, lease: lease, partialAfter: linger
                )
            }.value
            self.metrics.record(outcomes.filter { !completion.fenced.contains($0.key) }, claimed: claimed, destinationId: destinationId)
            self.reportFenced(completion, destinationId: destinationId)
            if let resumed = self.policy.delivered(destinationId: destination.id, connectionId: destination.connectionId, now: answered) {
                self.logger.notice("Salesforce accepts the connection's requests again: delivery resumed", metadata: [
                    "connection": "\(destination.connectionId)", "destination": "\(destination.id)", "after": "\(resumed.after.name)",
                    "refusedForSeconds": "\(Int(resumed.refusedFor.rounded()))",
                ])
            }
            await self.sharedPauseEnded(destination.connectionId, now: answered)
            await self.sharedBackoffEnded(destination.id)
            return completion.next
        } catch let error as SalesforceError {
            await self.handle(error, claimed: claimed, destination: destination)
            return nil
        } catch {
            if Task.isCancelled {
                // Shutdown cut the request short: it may still be applied, so its records settle first.
                await self.requeue(
                    claimed, destination: destination, code: "SHUTDOWN", message: "the service stopped during the request",
                    after: self.policy.ambiguousSettle, countAttempt: false, outcomeUnknown: true
                )
                return nil
            }
            self.logger.error("delivery failed", metadata: ["destination": "\(destination.id)", "error": "\(error)"])
            let wait = self.policy.backoff(attempt: 1, jitter: self.jitter())
            await self.requeue(claimed, destination: destination, code: "INTERNAL_ERROR", message: "\(error)", after: wait, countAttempt: true)
            return nil
        }
    }

    /// Runs a request while renewing the lease of its claim every third of the lease, so a slow
    /// request keeps its records; a process that stops renewing (killed, paused) loses them when
    /// the lease runs out, and its answers are then refused by the store (fencing).
    private func renewingLease<T: Sendable>(
        of claimed: [ClaimedRecord], destinationId: String, _ request: () async throws -> T
    ) async throws -> T {
        guard let claim = claimed.first?.claim else { return try await request() }
        let (store, lease, logger) = (self.store, self.policy.lease, self.logger)
        let renewer = Task {
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(Int64(lease * 1000 / 3)))
                let held = try await store.renew(destinationId: destinationId, claim: claim, lease: lease, now: Date())
                if held < claimed.count {
                    logger.warning(
                        "a request outlived its claim on some records: their answers will not be applied",
                        metadata: ["destination": "\(destinationId)", "held": "\(held)", "claimed": "\(claimed.count)"]
                    )
                    return
                }
            }
        }
        defer { renewer.cancel() }
        return try await request()
    }

    /// Logs answers the store refused because their claim had lost the records meanwhile.
    func reportFenced(_ completion: Completion, destinationId: String) {
        guard !completion.fenced.isEmpty else { return }
        self.metrics.fenced(completion.fenced.count, destinationId: destinationId)
        self.logger.warning(
            "answers for records another claim had taken over were not applied",
            metadata: ["destination": "\(destinationId)", "records": "\(completion.fenced.count)", "first": "\(completion.fenced[0])"]
        )
    }

    /// A backoff's jitter factor.
    func jitter() -> Double {
        Double.random(in: DeliveryPolicy.jitter, using: &self.random)
    }

    private func outcome(of answer: Written, for record: ClaimedRecord, now: Date) -> DeliveryResult {
        if let error = answer.requestError {
            // A follow-up call failed as a whole after the batch's first call wrote its records.
            guard error.disposition != .permanent else { return .failed(code: error.code, message: error.message, fields: []) }
            let wait = self.policy.backoff(attempt: record.attempts + 1, jitter: self.jitter())
            return self.policy.retryOrExhausted(
                retentionUsed: record.retentionUsed, attempts: record.attempts, code: error.code, message: error.message, after: wait,
                outcomeUnknown: error.kind == .transport, now: now
            )
        }
        let result = answer.result
        if result.success { return answer.address.map(DeliveryResult.acknowledgedAt) ?? .acknowledged }
        let error = result.errors.first
        let code = error?.statusCode ?? "UNKNOWN_ERROR"
        let message = error?.message ?? "Salesforce did not say why"
        if result.disposition == .retryLater {
            let wait = self.policy.backoff(attempt: record.attempts + 1, jitter: self.jitter())
            return self.policy.retryOrExhausted(retentionUsed: record.retentionUsed, attempts: record.attempts, code: code, message: message, after: wait, now: now)
        }
        return .failed(code: code, message: message, fields: error?.fields ?? [])
    }
}
