import AsyncHTTPClient
import Foundation
import Logging
import SalesforceAPI
import SfdestBasics
import Store

/// One Salesforce client per connection (its token cache lives there), built from the stored
/// connection and rebuilt when the connection changes. With `sharesSessions` (processes sharing a
/// PostgreSQL store), a connection's session is kept in the store and one process at a time asks
/// Salesforce for a new one.
public actor SalesforceClients {
    private let store: any ConfigurationStore & SessionStore & TurnStore
    private let sharesSessions: Bool
    /// This process's token for the connections' refresh turns.
    private let holder = Int64.random(in: 1...Int64.max)
    private let httpClient: HTTPClient
    private let logger: Logger
    /// How long one Salesforce call may take.
    public nonisolated let requestTimeout: Duration
    /// Which login and instance hosts the clients may send credentials and tokens to.
    public nonisolated let hostPolicy: OutboundHostPolicy
    private var clients: [String: (updatedAt: Date, client: SalesforceClient)] = [:]

    public init(
        store: any ConfigurationStore & SessionStore & TurnStore, httpClient: HTTPClient, logger: Logger, requestTimeout: Duration = .seconds(30),
        hostPolicy: OutboundHostPolicy = .salesforceAndLoopback, sharesSessions: Bool = false
    ) {
        self.sharesSessions = sharesSessions
        self.hostPolicy = hostPolicy
        self.store = store
        self.httpClient = httpClient
        self.logger = logger
        self.requestTimeout = requestTimeout
    }

    /// The client of a connection, current with its stored settings.
    public func client(connectionId: String) async throws -> SalesforceClient {
        guard let connection = try await self.store.connection(id: connectionId) else {
            throw SalesforceError(kind: .configuration, disposition: .permanent, code: "CONNECTION_NOT_FOUND", message: "connection \(connectionId) no longer exists")
        }
        if let cached = self.clients[connectionId], cached.updatedAt == connection.updatedAt {
            return cached.client
        }
        var configuration = try Self.configuration(for: connection, timeout: self.requestTimeout, hostPolicy: self.hostPolicy)
        if self.sharesSessions {
            configuration.sessionSharing = StoredSessions(
                store: self.store, connectionId: connectionId, credentialsAt: connection.updatedAt, holder: self.holder, logger: self.logger
            )
        }
        let client = try SalesforceClient(configuration: configuration, httpClient: self.httpClient, logger: self.logger)
        self.clients[connectionId] = (connection.updatedAt, client)
        return client
    }

    /// Forgets a connection's client (its credentials changed or it was deleted).
    public func invalidate(connectionId: String) {
        self.clients[connectionId] = nil
    }

    /// The client configuration a stored connection describes.
    public static func configuration(
        for connection: Connection, timeout: Duration = .seconds(30), hostPolicy: OutboundHostPolicy = .salesforceAndLoopback
    ) throws -> SalesforceConnectionConfiguration {
        let login: SalesforceLoginHost
        switch connection.loginKind {
        case .customDomain: login = .customDomain(connection.loginValue)
        case .loginUrl: login = .loginURL(connection.loginValue)
        }
        let credentials: SalesforceCredentials
        switch connection.authType {
        case .password:
            credentials = .password(
                username: connection.username ?? "", password: connection.secrets.password ?? "",
                securityToken: connection.secrets.securityToken, clientId: connection.clientId,
                clientSecret: connection.secrets.clientSecret ?? ""
            )
        case .clientCredentials:
            credentials = .clientCredentials(clientId: connection.clientId, clientSecret: connection.secrets.clientSecret ?? "")
        case .jwtBearer:
            credentials = .jwtBearer(
                clientId: connection.clientId, username: connection.username ?? "",
                privateKeyPem: connection.secrets.privateKeyPem ?? "", audience: connection.audience
            )
        }
        return SalesforceConnectionConfiguration(
            login: login, credentials: credentials, apiVersion: connection.apiVersion, requestTimeout: timeout, hostPolicy: hostPolicy
        )
    }
}
