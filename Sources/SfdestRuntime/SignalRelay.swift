import Delivery
import Ingest
import ServiceLifecycle
import Store
import Synchronization

/// Acts on what other processes sharing the store signal: changes queued wake delivery, a
/// destination's new settings reach ingest's plans and delivery's pauses, a started backfill is
/// claimed. On SQLite nothing comes (one process), and it only waits.
struct SignalRelay: Service {
    let signals: any StoreSignals
    let ingest: IngestPipeline
    let delivery: DeliveryService
    let role: SfdestRuntime.Role

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.signals.listen { signal in await self.handle(signal) }
        }
    }

    func handle(_ signal: StoreSignal) async {
        let delivers = self.role != .api
        switch signal {
        case .queued:
            if delivers { self.delivery.nudge([]) }
        case .destinationChanged(let destinationId):
            try? await self.ingest.reloadDestinations()
            if delivers { await self.delivery.destinationChanged(destinationId, heardBySignal: true) }
        case .backfillStarted:
            await self.ingest.claimBackfills()
        case .resync:
            try? await self.ingest.reloadDestinations()
            await self.ingest.claimBackfills()
            if delivers { self.delivery.nudge([]) }
        }
    }
}

/// Tells the other processes that changes were queued, once per burst of commits: while one
/// notification is being sent, later commits ask for one more, not one each.
final class QueuedAnnouncer: Sendable {
    private let signals: any StoreSignals
    private let state = Mutex((sending: false, again: false))

    init(signals: any StoreSignals) {
        self.signals = signals
    }

    func queued() {
        guard !(self.signals is NoStoreSignals) else { return }
        let start = self.state.withLock { state in
            if state.sending {
                state.again = true
                return false
            }
            state.sending = true
            return true
        }
        guard start else { return }
        Task {
            repeat {
                await self.signals.publish(.queued)
            } while self.state.withLock { state in
                if state.again {
                    state.again = false
                    return true
                }
                state.sending = false
                return false
            }
        }
    }
}
