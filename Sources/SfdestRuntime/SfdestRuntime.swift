import Alerts
import AsyncHTTPClient
import Delivery
import Foundation
import Hummingbird
import Ingest
import Logging
import PostgresStore
import Server
import SfdestBasics
import SfdestMetrics
import ServiceLifecycle
import UnixSignals
import Store
import Synchronization

/// The whole service in one process: store, ingest, delivery, alerts and the HTTP API, run as one
/// `ServiceGroup` with graceful shutdown. `sfdest serve`, `sfdest demo`, the bench and every test
/// harness build it through here (`application` and `backgroundServices` for tests that drive the
/// routes in process), so nothing is wired twice.
public struct SfdestRuntime: Sendable {
    public struct Settings: Sendable {
        public var dataDirectory: String
        public var host = "127.0.0.1"
        public var port = 8080
        public var environment: [String: String] = ProcessInfo.processInfo.environment
        public var delivery = DeliveryOptions()
        /// Bounds of the SQLite store (busy timeout, size); past them ingest answers 503.
        public var storeLimits = SQLiteStore.Limits()
        /// How long a Salesforce call may take before it is given up and retried later.
        public var salesforceRequestTimeout: Duration = .seconds(30)
        /// How often alerts are evaluated and how webhooks are retried.
        public var alerts = AlertOptions()
        /// The largest `POST /v1/profiles` body accepted; larger ones are answered 413.
        public var maxProfileBodyBytes = 16 << 20
        /// How long logging in to Salesforce may take while a connection is created or replaced.
        public var connectTimeout: Duration = .seconds(30)
        public init(dataDirectory: String) {
            self.dataDirectory = dataDirectory
        }

        /// HTTPS: the certificate chain and the private key, PEM files; both or neither.
        public var tlsCertificateFile: String?
        public var tlsKeyFile: String?
        /// Plain HTTP on an address other machines reach, because a TLS proxy in front terminates
        /// TLS. Without it (and without TLS) only a loopback `host` is accepted.
        public var insecureHTTP = false
        /// Deadlines and caps of the HTTP server (idle and body timeouts, connections, requests in flight).
        public var serverLimits = ServerLimits()
        /// Profiles waiting to be committed at most; past it `POST /v1/profiles` is answered 503
        /// before its body is read.
        public var ingestQueueProfiles = 200_000
        /// The web UI's sessions end after this many seconds without a request, and this many
        /// seconds after login in any case.
        public var uiSessionIdle: Double = 30 * 60
        public var uiSessionLifetime: Double = 12 * 3600
        /// What this process runs (several processes share one PostgreSQL database).
        public var role = Role.all
    }

    /// What a process runs: everything (`all`, the default); the HTTP API with ingest and the
    /// backfills it starts (`api`); or delivery and alerts (`worker`). Every role serves `/health`
    /// and `/metrics` on its port.
    public enum Role: String, Sendable, CaseIterable {
        case all, api, worker
    }

    public let settings: Settings
    public let keys: DataDirectory.Keys
    public let services: SfdestServices
    /// Where connections may log in and webhooks may go: from the listen host and `SFDEST_ALLOWED_HOSTS`.
    public let outboundHosts: OutboundHostPolicy
    let logger: Logger
    /// HTTPS of the API, loaded and checked when the runtime is made.
    let tls: ServerTLS?
    private let running = RunningGroup()

    /// Checks the listener (`ListenerRefusal`: plain HTTP on a non-loopback address without
    /// `insecureHTTP`, unusable TLS files), opens the data directory and the store; nothing runs
    /// until `run`.
    public init(settings: Settings, logger: Logger) throws {
        // The listener first: nothing is created for a refused one.
        let tls = try ListenerSecurity.check(settings)
        let directory = DataDirectory(path: settings.dataDirectory)
        let keys = try directory.open(environment: settings.environment)
        let store = try SQLiteStore(path: directory.databasePath, secrets: keys.secrets, limits: settings.storeLimits)
        try self.init(settings: settings, tls: tls, keys: keys, store: store, logger: logger)
    }

    /// The service on PostgreSQL, for `body` to run: every process of a deployment shares the
    /// database, `SFDEST_MASTER_KEY` and `SFDEST_API_KEY` (no data directory keys). Stops at start
    /// when the database is unreachable or the master key is not the deployment's.
    public static func withPostgres<T: Sendable>(
        url: PostgresURL, settings: Settings, logger: Logger, _ body: (SfdestRuntime) async throws -> T
    ) async throws -> T {
        let tls = try ListenerSecurity.check(settings)
        let keys = try DataDirectory.sharedKeys(environment: settings.environment)
        return try await PostgresStore.run(url: url, secrets: keys.secrets, logger: logger) { store in
            try await body(try SfdestRuntime(
                settings: settings, tls: tls, keys: keys, store: store, signals: PostgresSignals(store: store), logger: logger
            ))
        }
    }

    init(
        settings: Settings, tls: ServerTLS?, keys: DataDirectory.Keys, store: any SfdestStore, signals: any StoreSignals = NoStoreSignals(),
        logger: Logger
    ) throws {
        self.tls = tls
        self.settings = settings
        self.logger = logger
        self.keys = keys
        self.outboundHosts = try OutboundHostPolicy(listenHost: settings.host, environment: settings.environment)
        let httpClient = HTTPClientService.makeClient()
        let clients = SalesforceClients(
            store: store, httpClient: httpClient, logger: logger, requestTimeout: settings.salesforceRequestTimeout, hostPolicy: self.outboundHosts,
            // Several processes share a PostgreSQL store, and so a connection's session.
            sharesSessions: !(signals is NoStoreSignals)
        )
        // An api process records the backfills it starts; the workers run them.
        let ingest = IngestPipeline(
            store: store, logger: logger, maxWaitingProfiles: settings.ingestQueueProfiles, runsBackfills: settings.role != .api
        )
        let metrics = SfdestMetrics()
        let delivery = DeliveryService(
            store: store, clients: clients, logger: logger, options: settings.delivery, metrics: DeliveryMetrics(factory: metrics.factory),
            // ... and its connections' pauses (API allowance, budget, refused credentials).
            sharesPauses: !(signals is NoStoreSignals)
        )
        self.services = SfdestServices(
            store: store, ingest: ingest, delivery: delivery, clients: clients, httpClient: httpClient, metrics: metrics, signals: signals
        )
    }

    /// The HTTP API with its routes, keys and limits. `onListening` receives the bound port
    /// (useful with port 0).
    public func application(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        var serverSettings = ServerSettings(
            host: self.settings.host, port: self.settings.port, apiKeys: [], maxProfileBodyBytes: self.settings.maxProfileBodyBytes
        )
        serverSettings.adminKeyHashes = [self.keys.apiKeyHash]
        serverSettings.metricsPublic = self.settings.environment["SFDEST_METRICS_PUBLIC"] == "1"
        serverSettings.salesforceTimeout = self.settings.connectTimeout
        serverSettings.onListening = onListening
        serverSettings.outboundHosts = self.outboundHosts
        serverSettings.limits = self.settings.serverLimits
        serverSettings.tls = self.tls
        serverSettings.uiSessionIdle = self.settings.uiSessionIdle
        serverSettings.uiSessionLifetime = self.settings.uiSessionLifetime
        // Behind a TLS proxy the browser speaks HTTPS: its cookies are Secure too.
        serverSettings.uiSecureCookies = self.tls != nil || self.settings.insecureHTTP
        serverSettings.probesOnly = self.settings.role == .worker
        return buildApplication(settings: serverSettings, services: self.services, logger: self.logger)
    }

    /// Everything but the HTTP API, in start order: the outbound HTTP client (shut down last),
    /// ingest, delivery (woken by each ingest commit and by other processes' signals) and the
    /// alert monitor. An `api` process runs ingest only (the backfills it starts are recorded for
    /// the workers); a `worker` the backfills, delivery and alerts.
    public func backgroundServices() async -> [any Service] {
        let delivery = self.services.delivery
        let announce = QueuedAnnouncer(signals: self.services.signals)
        await self.services.ingest.onCommit { destinations in
            delivery.nudge(destinations)
            announce.queued()
        }
        let alerts = AlertMonitor(
            store: self.services.store, delivery: DeliveryStates(delivery: delivery), httpClient: self.services.httpClient,
            logger: self.logger, options: self.settings.alerts, hostPolicy: self.outboundHosts
        )
        let relay = SignalRelay(signals: self.services.signals, ingest: self.services.ingest, delivery: delivery, role: self.settings.role)
        let http = HTTPClientService(client: self.services.httpClient)
        switch self.settings.role {
        case .all: return [http, self.services.ingest, delivery, alerts, relay]
        case .api: return [http, self.services.ingest, relay]
        case .worker: return [http, self.services.ingest, delivery, alerts, relay]
        }
    }

    /// Runs until cancelled or, with `signals`, until SIGTERM or SIGINT: then the API stops taking
    /// requests first, delivery finishes or releases its sends, and ingest commits what it holds.
    /// `onListening` receives the bound port (useful with port 0).
    public func run(gracefulShutdownSignals signals: [UnixSignal] = [.sigterm, .sigint], onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let services = await self.backgroundServices() + [self.application(onListening: onListening)]
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) }, gracefulShutdownSignals: signals, logger: self.logger
        ))
        self.running.set(group)
        try await group.run()
    }

    /// Stops a running service gracefully, as SIGTERM does.
    public func shutdown() async {
        await self.running.get()?.triggerGracefulShutdown()
    }
}

/// The service group of a running runtime, for `shutdown()`.
final class RunningGroup: Sendable {
    private let group = Mutex<ServiceGroup?>(nil)
    func set(_ group: ServiceGroup) { self.group.withLock { $0 = group } }
    func get() -> ServiceGroup? { self.group.withLock { $0 } }
}
