/// What one process tells the others sharing its store, so they act at once rather than at their
/// next poll. Polls stay as the fallback: a signal lost makes work late, never lost.
public enum StoreSignal: Sendable, Hashable {
    /// Changes were queued: delivery looks for due work.
    case queued
    /// A destination's settings changed (enabled, disabled, deleted, its mappings or its
    /// connection): ingest compiles its plan again and delivery clears its pauses.
    case destinationChanged(String)
    /// A backfill started: a process that runs backfills claims it.
    case backfillStarted(String)
    /// Signals may have been missed (the listener connected, or connected again): act as if
    /// every kind had come.
    case resync

    /// The signal as a notification's payload.
    public var payload: String {
        switch self {
        case .queued: "queued"
        case .destinationChanged(let id): "changed:\(id)"
        case .backfillStarted(let id): "backfill:\(id)"
        case .resync: "resync"
        }
    }

    /// The signal a payload carries; nil for one this version does not know (a newer process's).
    public init?(payload: String) {
        let (kind, id) = payload.firstIndex(of: ":").map { (payload[..<$0], String(payload[payload.index(after: $0)...])) } ?? (payload[...], "")
        switch kind {
        case "queued": self = .queued
        case "resync": self = .resync
        case "changed" where !id.isEmpty: self = .destinationChanged(id)
        case "backfill" where !id.isEmpty: self = .backfillStarted(id)
        default: return nil
        }
    }
}

/// How processes sharing one store signal each other (PostgreSQL: `NOTIFY` and `LISTEN`).
public protocol StoreSignals: Sendable {
    /// Tells every process listening, this one included. Failure is logged, not thrown: the
    /// others find the work at their next poll.
    func publish(_ signal: StoreSignal) async
    /// Calls `handle` with each signal any process publishes, and with `.resync` each time the
    /// listener connects; reconnects after a failure; returns when cancelled.
    func listen(_ handle: @escaping @Sendable (StoreSignal) async -> Void) async
}

/// One process alone on its store (SQLite): nobody to tell.
public struct NoStoreSignals: StoreSignals {
    public init() {}
    public func publish(_ signal: StoreSignal) async {}
    public func listen(_ handle: @escaping @Sendable (StoreSignal) async -> Void) async {
        // Nothing ever comes: wait for cancellation.
        while (try? await Task.sleep(for: .seconds(3600))) != nil {}
    }
}
