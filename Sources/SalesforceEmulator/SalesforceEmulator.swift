import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// A faithful local Salesforce org over HTTP, for tests, demos and benchmarks.
public enum SalesforceEmulator {
    /// Runs an emulated org for the length of `body`: binds the socket, seeds records, hands
    /// `body` the listening org, and stops the server gracefully when `body` returns or throws.
    /// The server runs in a child task of this call (structured), never in a detached one.
    public static func with<T: Sendable>(
        _ configuration: EmulatorConfiguration,
        logger: Logger = Logger(label: "sfdest.emulator"),
        _ body: (RunningEmulator) async throws -> T
    ) async throws -> T {
        let (listening, listeningContinuation) = AsyncStream<RunningEmulator>.makeStream()
        let service = EmulatorService(configuration, logger: logger) { listeningContinuation.yield($0) }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [service], gracefulShutdownSignals: [], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                defer { listeningContinuation.finish() }
                try await group.run()
            }
            var iterator = listening.makeAsyncIterator()
            guard let emulator = await iterator.next() else {
                // The server ended before listening: surface why (e.g. the port is taken).
                try await tasks.waitForAll()
                throw EmulatorStartFailure(host: configuration.host, port: configuration.port)
            }
            let result: T
            do {
                result = try await body(emulator)
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        }
    }

    /// The host as it appears in a URL: a wildcard bind is reached on loopback, IPv6 goes in brackets.
    static func urlHost(_ host: String) -> String {
        switch host {
        case "0.0.0.0", "": return "127.0.0.1"
        case "::": return "[::1]"
        default: return host.contains(":") ? "[\(host)]" : host
        }
    }
}

/// The server stopped before it was listening.
struct EmulatorStartFailure: Error, CustomStringConvertible {
    let host: String
    let port: Int
    var description: String { "the Salesforce emulator could not listen on \(self.host):\(self.port)" }
}

/// An emulated org that is listening.
public struct RunningEmulator: Sendable {
    public let port: Int
    /// "http://127.0.0.1:PORT": the login URL and the instance URL alike.
    public let baseURL: String
    /// 18-character Ids of the contacts seeded at start.
    public let seededContactIds: [String]
    /// 18-character Ids of the leads seeded at start.
    public let seededLeadIds: [String]
}
