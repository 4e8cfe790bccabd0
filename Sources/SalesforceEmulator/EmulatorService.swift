import Hummingbird
import Logging
import ServiceLifecycle
import _CryptoExtras

/// A setting the emulator cannot start with.
public struct EmulatorConfigurationFailure: Error, CustomStringConvertible {
    public let description: String
}

/// The emulated org as a service: seeds its records, listens, calls `onListening` with the
/// listening org, and serves until graceful shutdown. `sfdest emulator` runs it in a service
/// group with signal handling; `SalesforceEmulator.with` runs it for the length of a scope.
public struct EmulatorService: Service {
    let configuration: EmulatorConfiguration
    let logger: Logger
    let onListening: @Sendable (RunningEmulator) async -> Void

    public init(
        _ configuration: EmulatorConfiguration, logger: Logger = Logger(label: "sfdest.emulator"),
        onListening: @escaping @Sendable (RunningEmulator) async -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        let configuration = self.configuration
        let org = Org(credentials: Credentials(
            clientId: configuration.clientId,
            clientSecret: configuration.clientSecret,
            username: configuration.username,
            password: configuration.password
        ))
        if let certificate = configuration.jwtCertificatePem {
            let key: _RSA.Signing.PublicKey
            do {
                key = try ConnectedApp.publicKey(certificatePEM: certificate)
            } catch {
                throw EmulatorConfigurationFailure(description: "the JWT certificate: \(error.message)")
            }
            org.access.withLock { $0.connectedApp.certificateKey = key }
        }
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
        let logger = self.logger
        let onListening = self.onListening
        let application = Application(
            responder: EmulatorResponder(org: org),
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                let baseURL = "http://\(SalesforceEmulator.urlHost(configuration.host)):\(port)"
                org.baseURL = baseURL
                logger.debug("Salesforce emulator listening", metadata: ["url": "\(baseURL)"])
                await onListening(RunningEmulator(port: port, baseURL: baseURL, seededContactIds: contactIds, seededLeadIds: leadIds))
            },
            logger: logger
        )
        // Signals are the caller's to handle (`sfdest emulator` and the demo trap SIGINT themselves): the
        // org stops when its service group shuts down, never on its own.
        try await application.runService(gracefulShutdownSignals: [])
    }
}
