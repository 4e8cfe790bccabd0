import Logging
import PostgresNIO
import Store

/// Signals between the processes of one deployment through PostgreSQL's `NOTIFY` and `LISTEN` on
/// one channel. The listener holds one pooled connection for as long as it runs (count it when
/// sizing the pool) and connects again, with a growing pause, when that connection is lost.
public struct PostgresSignals: StoreSignals {
    /// The channel every process of a deployment listens on.
    public static let channel = "sfdest_signals"

    let store: PostgresStore

    public init(store: PostgresStore) {
        self.store = store
    }

    public func publish(_ signal: StoreSignal) async {
        do {
            try await self.store.client.query("SELECT pg_notify(\(Self.channel), \(signal.payload))", logger: self.store.logger)
        } catch {
            self.store.logger.warning("could not signal the other processes; they find the work at their next poll", metadata: [
                "signal": "\(signal.payload)", "error": "\(error)",
            ])
        }
    }

    public func listen(_ handle: @escaping @Sendable (StoreSignal) async -> Void) async {
        var pause = Duration.milliseconds(500)
        while !Task.isCancelled {
            do {
                try await self.store.client.withConnection { connection in
                    try await connection.listen(on: Self.channel) { notifications in
                        // Listening from here on: whatever was signalled before is found by a resync.
                        pause = .milliseconds(500)
                        await handle(.resync)
                        for try await notification in notifications {
                            if let signal = StoreSignal(payload: notification.payload) {
                                await handle(signal)
                            } else {
                                self.store.logger.debug("unknown signal ignored", metadata: ["payload": "\(notification.payload)"])
                            }
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                self.store.logger.warning("lost the signal listener's connection, connecting again", metadata: [
                    "error": "\(error)", "retryIn": "\(pause)",
                ])
            }
            guard (try? await Task.sleep(for: pause)) != nil else { return }
            pause = min(pause * 2, .seconds(10))
        }
    }
}
