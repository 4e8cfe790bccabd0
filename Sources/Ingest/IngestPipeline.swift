import Activation
import Foundation
import Logging
import ServiceLifecycle
import Store

/// The way in: profiles from many concurrent requests are committed together (group commit), so
/// one fsync serves them all; a request is answered only after its profiles are durable. Backfills
/// of stored profiles go through the same single writer, after waiting requests; each is held in
/// the store (`BackfillHold`), so of several processes sharing one database one runs it, and
/// another takes it over when that one dies. A pipeline that does not run backfills (an `api`
/// process's) only records their start.
public actor IngestPipeline: Service {
    /// The store cannot take more now: the caller should answer 503 with Retry-After.
    public struct Overloaded: Error, CustomStringConvertible {
        public let description = "the service is busy storing earlier profiles: retry shortly"
    }

    /// The pipeline stopped (shutdown) before the profiles were stored.
    public struct Stopped: Error, CustomStringConvertible {
        public let description = "the service is shutting down: retry against the restarted service"
    }

    private struct Submission {
        var profiles: [Profile]
        var continuation: CheckedContinuation<Int, any Error>
    }

    private let store: any ConfigurationStore & IngestStore
    private let logger: Logger
    private let now: @Sendable () -> Date
    private let maxBatchProfiles: Int
    private let maxWaitingProfiles: Int
    private let backfillRetryDelay: Duration = .seconds(5)
    private let runsBackfills: Bool
    private let hold: BackfillHold
    private let backfillClaimInterval: Duration
    private var active: [ActiveDestination] = []
    private var waiting: [Submission] = []
    private var waitingProfiles = 0
    private var backfills: [String: Int64] = [:]
    private var stopped = false
    private let wakeStream: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private var committed: @Sendable ([String]) -> Void = { _ in }

    public init(
        store: any ConfigurationStore & IngestStore,
        logger: Logger,
        maxBatchProfiles: Int = 5_000,
        maxWaitingProfiles: Int = 200_000,
        runsBackfills: Bool = true,
        backfillLease: TimeInterval = 30,
        backfillClaimInterval: Duration = .seconds(5),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.runsBackfills = runsBackfills
        self.hold = BackfillHold(lease: backfillLease)
        self.backfillClaimInterval = backfillClaimInterval
        self.logger = logger
        self.now = now
        self.maxBatchProfiles = maxBatchProfiles
        self.maxWaitingProfiles = maxWaitingProfiles
        (self.wakeStream, self.wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Called after each commit with the destinations that got new work (to wake delivery).
    public func onCommit(_ handler: @escaping @Sendable ([String]) -> Void) {
        self.committed = handler
    }

    /// Stores the profiles durably and queues their changes; returns once committed.
    public func submit(_ profiles: [Profile]) async throws -> Int {
        guard !profiles.isEmpty else { return 0 }
        guard !self.stopped else { throw Stopped() }
        guard self.waitingProfiles + profiles.count <= self.maxWaitingProfiles else { throw Overloaded() }
        return try await withCheckedThrowingContinuation { continuation in
            self.waiting.append(Submission(profiles: profiles, continuation: continuation))
            self.waitingProfiles += profiles.count
            self.wake.yield()
        }
    }

    /// Throws what `submit` would for a request arriving now (`Stopped`, or `Overloaded` when the
    /// queue is full), so a request can be refused before its body is read.
    public func checkAdmission() throws {
        guard !self.stopped else { throw Stopped() }
        guard self.waitingProfiles < self.maxWaitingProfiles else { throw Overloaded() }
    }

    /// Re-reads the enabled destinations (and those a policy paused: their changes stay queued)
    /// and compiles their plans.
    public func reloadDestinations() async throws {
        var active: [ActiveDestination] = []
        for destination in try await self.store.destinations() where destination.status.isActivated {
            do {
                active.append(ActiveDestination(id: destination.id, plan: try destination.activationPlan()))
            } catch {
                self.logger.error("destination cannot be compiled, it receives nothing", metadata: ["destination": "\(destination.id)", "problems": "\(error)"])
            }
        }
        self.active = active
        self.backfills = self.backfills.filter { id, _ in active.contains { $0.id == id } }
    }

    /// Re-evaluates every stored profile for a destination, in pages, after waiting requests. The
    /// start is recorded in the store (throws when it cannot be), so a crash before the end
    /// resumes it, here or in another process.
    public func startBackfill(destinationId: String) async throws {
        try await self.store.startBackfill(destinationId: destinationId)
        await self.claimBackfills()
    }

    /// Takes the backfills this process may run (new ones, and those whose holder stopped
    /// renewing) and renews its own; forgets those another process runs now. Called every
    /// `backfillClaimInterval`, and when another process says a backfill started.
    public func claimBackfills() async {
        guard self.runsBackfills, !self.stopped else { return }
        let claimed: [String: Int64]
        do {
            // A read when none runs anywhere (the usual case); the claim itself writes.
            if self.backfills.isEmpty, try await self.store.runningBackfills().isEmpty { return }
            claimed = try await self.store.claimBackfills(self.hold, now: self.now())
        } catch {
            self.logger.warning("could not claim backfills, trying again shortly", metadata: ["error": "\(error)"])
            return
        }
        // New here, or restarted since (the cursor went back): run with the plan as saved now.
        let changed = claimed.filter { self.backfills[$0.key] != $0.value }
        if !changed.isEmpty {
            do {
                try await self.reloadDestinations()
            } catch {
                self.logger.warning("could not read the destinations, backfills wait", metadata: ["error": "\(error)"])
                return
            }
        }
        for (destinationId, after) in changed where self.active.contains(where: { $0.id == destinationId }) {
            if self.backfills[destinationId] == nil {
                self.logger.notice(after == 0 ? "running a backfill" : "resuming a backfill", metadata: ["destination": "\(destinationId)", "afterProfile": "\(after)"])
            }
            self.backfills[destinationId] = after
        }
        for destinationId in self.backfills.keys where claimed[destinationId] == nil {
            self.backfills[destinationId] = nil
            self.logger.info("backfill no longer run here (finished, disabled or taken over)", metadata: ["destination": "\(destinationId)"])
        }
        if !self.backfills.isEmpty { self.wake.yield() }
    }

    public func run() async throws {
        try await self.reloadDestinations()
        // Backfills a previous run did not finish go on where they stopped.
        await self.claimBackfills()
        try await withThrowingDiscardingTaskGroup { group in
            if self.runsBackfills {
                group.addTask { [backfillClaimInterval] in
                    // Ends quietly when the group is cancelled.
                    while (try? await Task.sleep(for: backfillClaimInterval)) != nil {
                        await self.claimBackfills()
                    }
                }
            }
            for await _ in self.wakeStream.cancelOnGracefulShutdown() {
                while try await self.commitNext() {}
            }
            group.cancelAll()
        }
        self.stop()
    }

    /// Commits one batch of waiting profiles, or one backfill page. False when idle.
    private func commitNext() async throws -> Bool {
        if !self.waiting.isEmpty {
            var batch: [Submission] = []
            var count = 0
            while let next = self.waiting.first, batch.isEmpty || count + next.profiles.count <= self.maxBatchProfiles {
                batch.append(self.waiting.removeFirst())
                count += next.profiles.count
            }
            self.waitingProfiles -= count
            do {
                let summary = try await self.store.ingest(batch.flatMap(\.profiles), into: self.active, at: self.now())
                for submission in batch { submission.continuation.resume(returning: submission.profiles.count) }
                let touched = summary.perDestination.filter { $0.value.queued > 0 }.map(\.key)
                if !touched.isEmpty { self.committed(touched) }
            } catch {
                // Every submitter gets the error and reports it (the HTTP API logs it once per
                // request); here it is only traced.
                self.logger.debug("storing profiles failed", metadata: ["profiles": "\(count)", "error": "\(error)"])
                for submission in batch { submission.continuation.resume(throwing: error) }
            }
            return true
        }
        guard let (destinationId, after) = self.backfills.first,
              let destination = self.active.first(where: { $0.id == destinationId })
        else { return false }
        let progress: BackfillProgress
        do {
            progress = try await self.store.backfill(destination, after: after, limit: 2_000, at: self.now(), hold: self.hold)
        } catch is BackfillNotHeld {
            // Restarted, or taken over after this process stalled past its hold: find out which.
            self.backfills[destinationId] = nil
            self.logger.notice("backfill page not stored: the backfill was restarted or another process runs it", metadata: ["destination": "\(destinationId)"])
            await self.claimBackfills()
            return true
        } catch {
            // Storage trouble must not stop ingest: the backfill resumes where it was, later.
            let level: Logger.Level = error is StoreUnavailable ? .warning : .error
            self.logger.log(level: level, "backfill page failed, retrying shortly", metadata: ["destination": "\(destinationId)", "error": "\(error)"])
            let wake = self.wake
            let delay = self.backfillRetryDelay
            Task {
                try? await Task.sleep(for: delay)
                wake.yield()
            }
            return false
        }
        if let next = progress.nextAfter, self.backfills[destinationId] != nil {
            self.backfills[destinationId] = next
        } else {
            self.backfills[destinationId] = nil
            self.logger.info("backfill finished", metadata: ["destination": "\(destinationId)"])
        }
        if progress.counts.queued > 0 { self.committed([destinationId]) }
        return true
    }

    private func stop() {
        self.stopped = true
        for submission in self.waiting { submission.continuation.resume(throwing: Stopped()) }
        self.waiting = []
        self.waitingProfiles = 0
    }
}
