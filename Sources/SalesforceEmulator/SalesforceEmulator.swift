import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// A faithful local Salesforce org over HTTP, for tests, demos and benchmarks.
public enum SalesforceEmulator {
    /// Binds the socket, seeds records, returns once listening.
    public static func start(
        _ configuration: EmulatorConfiguration,
        logger: Logger = Logger(label: "sfdest.emulator")
    ) async throws -> RunningEmulator {
        let org = Org(credentials: Credentials(
            clientId: configuration.clientId,
            clientSecret: configuration.clientSecret,
            username: configuration.username,
            password: configuration.password
        ))
        let now = SalesforceTimestamp.now()
        let (contactIds, leadIds) = org.store.withLock { store in
            let contact = store.schema(named: "Contact")!
            let lead = store.schema(named: "Lead")!
            let contacts = (0..<max(0, configuration.contacts)).map {
                store.insert(type: contact, fields: SeedRecords.fields(for: contact, index: $0), now: now)
            }
            let leads = (0..<max(0, configuration.leads)).map {
                store.insert(type: lead, fields: SeedRecords.fields(for: lead, index: $0), now: now)
            }
            return (contacts, leads)
        }

        let (boundPorts, boundPortsContinuation) = AsyncStream<Int>.makeStream()
        let application = Application(
            responder: EmulatorResponder(org: org),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port),
                serverName: nil
            ),
            onServerRunning: { channel in
                boundPortsContinuation.yield(channel.localAddress?.port ?? configuration.port)
            },
            logger: logger
        )
        let serviceGroup = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [application], gracefulShutdownSignals: [], logger: logger
        ))
        let run = Task {
            defer { boundPortsContinuation.finish() }
            try await serviceGroup.run()
        }
        var iterator = boundPorts.makeAsyncIterator()
        guard let port = await iterator.next() else {
            // The server ended before listening: surface why (e.g. the port is taken).
            try await run.value
            throw EmulatorStartFailure(host: configuration.host, port: configuration.port)
        }
        let baseURL = "http://\(Self.urlHost(configuration.host)):\(port)"
        org.baseURL = baseURL
        logger.debug("Salesforce emulator listening", metadata: ["url": "\(baseURL)"])
        return RunningEmulator(
            port: port, baseURL: baseURL, seededContactIds: contactIds, seededLeadIds: leadIds,
            serviceGroup: serviceGroup, run: run
        )
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

/// An emulated org that is listening. Stop it with `stop()`, from any task.
public final class RunningEmulator: Sendable {
    public let port: Int
    /// "http://127.0.0.1:PORT": the login URL and the instance URL alike.
    public let baseURL: String
    /// 18-character Ids of the contacts seeded at start.
    public let seededContactIds: [String]
    /// 18-character Ids of the leads seeded at start.
    public let seededLeadIds: [String]
    private let serviceGroup: ServiceGroup
    private let run: Task<Void, any Error>

    init(
        port: Int, baseURL: String, seededContactIds: [String], seededLeadIds: [String],
        serviceGroup: ServiceGroup, run: Task<Void, any Error>
    ) {
        self.port = port
        self.baseURL = baseURL
        self.seededContactIds = seededContactIds
        self.seededLeadIds = seededLeadIds
        self.serviceGroup = serviceGroup
        self.run = run
    }

    /// Stops gracefully and returns once the server has ended; calling it again does nothing more.
    public func stop() async {
        await self.serviceGroup.triggerGracefulShutdown()
        _ = try? await self.run.value
    }

    /// Returns when the server ends (after `stop()`), throwing if it failed.
    public func waitUntilStopped() async throws {
        try await self.run.value
    }
}
