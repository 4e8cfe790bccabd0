import Delivery
import Foundation
import Hummingbird
import Logging
import SalesforceAPI
import SfdestBasics
import SfdestJSON
import Store

/// `/v1/connections`: Salesforce orgs and the credentials to reach them. A connection is saved
/// only after Salesforce accepted its credentials.
struct ConnectionRoutes: Sendable {
    let services: SfdestServices
    let settings: ServerSettings
    let logger: Logger

    func register(on group: RouterGroup<SfdestRequestContext>) {
        group.post("connections") { request, _ in try await self.create(request) }
        group.get("connections") { _, _ in try await self.list() }
        group.get("connections/{id}") { _, context in try await self.show(context.parameters.require("id")) }
        group.put("connections/{id}") { request, context in try await self.replace(context.parameters.require("id"), request) }
        group.delete("connections/{id}") { _, context in try await self.delete(context.parameters.require("id")) }
    }

    func create(_ request: Request) async throws -> Response {
        let body = try await RequestJSON.decode(ConnectionRequest.self, from: request, limit: self.settings.maxConfigurationBodyBytes)
        var connection = try body.connection(id: generateID(prefix: "conn_"), now: Date(), previous: nil, policy: self.settings.outboundHosts)
        connection.instanceUrl = try await self.authenticate(connection)
        try await self.services.store.saveConnection(connection)
        try await self.services.audit(.connectionCreate, connection.id, after: connectionAuditJSON(connection))
        self.logger.notice("connection created", metadata: ["connection": "\(connection.id)", "instanceUrl": "\(connection.instanceUrl ?? "")"])
        return connectionJSON(connection).response(.created)
    }

    func list() async throws -> Response {
        JSON.array(try await self.services.store.connections().map(connectionJSON)).response()
    }

    func show(_ id: String) async throws -> Response {
        guard let connection = try await self.services.store.connection(id: id) else { throw APIError.connectionNotFound(id) }
        return connectionJSON(connection).response()
    }

    /// Replaces settings and credentials after authenticating with the new ones, then lets the
    /// destinations that use the connection resume with them.
    func replace(_ id: String, _ request: Request) async throws -> Response {
        guard let previous = try await self.services.store.connection(id: id) else { throw APIError.connectionNotFound(id) }
        let body = try await RequestJSON.decode(ConnectionRequest.self, from: request, limit: self.settings.maxConfigurationBodyBytes)
        var connection = try body.connection(id: id, now: Date(), previous: previous, policy: self.settings.outboundHosts)
        connection.instanceUrl = try await self.authenticate(connection)
        try await self.services.store.saveConnection(connection)
        try await self.services.audit(.connectionUpdate, id, before: connectionAuditJSON(previous), after: connectionAuditJSON(connection))
        await self.services.clients.invalidate(connectionId: id)
        for destination in try await self.services.store.destinations() where destination.connectionId == id {
            await self.services.delivery.destinationChanged(destination.id)
            await self.services.signals.publish(.destinationChanged(destination.id))
        }
        self.logger.notice("connection updated", metadata: ["connection": "\(id)"])
        return connectionJSON(connection).response()
    }

    func delete(_ id: String) async throws -> Response {
        let deleted: Bool
        let previous = try await self.services.store.connection(id: id)
        do {
            deleted = try await self.services.store.deleteConnection(id: id)
        } catch let conflict as StoreConflict {
            throw APIError(status: .conflict, code: "connection_in_use", message: conflict.description)
        }
        guard deleted else { throw APIError.connectionNotFound(id) }
        try await self.services.audit(.connectionDelete, id, before: previous.map(connectionAuditJSON) ?? .null)
        await self.services.clients.invalidate(connectionId: id)
        self.logger.notice("connection deleted", metadata: ["connection": "\(id)"])
        return Response(status: .noContent)
    }

    /// Logs in with the connection's settings; returns the org's instance URL.
    private func authenticate(_ connection: Connection) async throws -> String {
        var loginURL: String?
        do {
            let configuration = try SalesforceClients.configuration(
                for: connection, timeout: self.settings.salesforceTimeout, hostPolicy: self.settings.outboundHosts
            )
            let client = try SalesforceClient(configuration: configuration, httpClient: self.services.httpClient, logger: self.logger)
            loginURL = client.loginURL
            return try await client.authenticate().instanceURL
        } catch let error as SalesforceError {
            throw APIError.salesforce(error, loginURL: loginURL)
        }
    }
}
