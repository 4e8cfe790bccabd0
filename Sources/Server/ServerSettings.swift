import AsyncHTTPClient
import Delivery
import Ingest
import SfdestBasics
import SfdestMetrics
import Store

/// How the HTTP API listens and whom it lets in.
public struct ServerSettings: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Only `/health` and `/metrics` (a `worker` process): no API routes, no web UI.
    public var probesOnly = false
    /// Bootstrap keys given in the clear (`SFDEST_API_KEY`, tests): each is `admin`. Keys made
    /// with `POST /v1/keys` live in the store.
    public var apiKeys: [String]
    /// The largest `POST /v1/profiles` body accepted; larger ones are answered 413.
    public var maxProfileBodyBytes = 16 << 20
    /// The largest configuration body (connections, destinations, mappings, segments) accepted.
    public var maxConfigurationBodyBytes = 1 << 20
    /// Upper bound for logging in to Salesforce while a connection is created or replaced.
    /// (An unreachable host is retried by the HTTP client until this deadline.)
    public var salesforceTimeout: Duration = .seconds(30)
    /// Called once the server listens, with the bound port (the one the OS picked for port 0).
    public var onListening: @Sendable (Int) async -> Void = { _ in }
    /// SHA-256 (hex) of bootstrap keys known only by their hash (the data directory's): `admin`.
    public var adminKeyHashes: [String] = []
    /// `GET /metrics` without a key (`SFDEST_METRICS_PUBLIC=1`); otherwise it needs `view-metrics`.
    public var metricsPublic = false
    /// Which hosts connections may log in at and webhooks may be sent to. Defaults to what the
    /// listen host allows (loopback only when listening on loopback) with no extra hosts.
    public var outboundHosts: OutboundHostPolicy

    public init(host: String = "127.0.0.1", port: Int = 8080, apiKeys: [String], maxProfileBodyBytes: Int = 16 << 20) {
        self.outboundHosts = OutboundHostPolicy.isLoopbackListenHost(host) ? .salesforceAndLoopback : .salesforceOnly
        self.host = host
        self.port = port
        self.apiKeys = apiKeys
        self.maxProfileBodyBytes = maxProfileBodyBytes
    }

    /// Deadlines and caps of the server (idle and body timeouts, connections, requests in flight).
    public var limits = ServerLimits()
    /// HTTPS with this certificate and key; plain HTTP when nil.
    public var tls: ServerTLS?
    /// The web UI's sessions: ended after this long without a request, and this long after login
    /// whatever happens (`SFDEST_UI_SESSION_IDLE_SECONDS`, `SFDEST_UI_SESSION_HOURS`).
    public var uiSessionIdle: Double = 30 * 60
    public var uiSessionLifetime: Double = 12 * 3600
    /// The UI's cookies carry `Secure` (under TLS, or behind a TLS proxy); nil: when `tls` is set.
    public var uiSecureCookies: Bool?
}

/// The long-lived parts the routes work with. The caller runs `ingest` and `delivery` as services
/// and owns `httpClient`.
public struct SfdestServices: Sendable {
    public let store: any SfdestStore
    public let ingest: IngestPipeline
    public let delivery: DeliveryService
    public let clients: SalesforceClients
    /// Used to authenticate connections before they are saved.
    public let httpClient: HTTPClient
    /// What `GET /metrics` shows; delivery reports into the same registry.
    public let metrics: SfdestMetrics
    /// How this process tells the others sharing its store what changed (none on SQLite).
    public let signals: any StoreSignals

    public init(
        store: any SfdestStore, ingest: IngestPipeline, delivery: DeliveryService, clients: SalesforceClients, httpClient: HTTPClient,
        metrics: SfdestMetrics = SfdestMetrics(), signals: any StoreSignals = NoStoreSignals()
    ) {
        self.metrics = metrics
        self.signals = signals
        self.store = store
        self.ingest = ingest
        self.delivery = delivery
        self.clients = clients
        self.httpClient = httpClient
    }
}
