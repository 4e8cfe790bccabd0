import Foundation
import NIOHTTP1
import SfdestClient

/// `sfdest keys create|list|revoke` against a running service, through `/v1/keys`.
public struct KeysCLI: Sendable {
    public let client: ContractClient

    public init(client: ContractClient) {
        self.client = client
    }

    /// Creates a key; returns what to print: the key (shown only now) and its id.
    public func create(name: String, permissions: [String], expiresAt: String?) async throws -> String {
        let body: [String: Any] = ["name": name, "permissions": permissions, "expiresAt": expiresAt.map { $0 as Any } ?? NSNull()]
        let answer = try await self.send(.POST, "/v1/keys", json: body)
        try MonitoringCLI.check(answer, "POST /v1/keys")
        let object = answer.object
        let key = object["key"] as? String ?? ""
        return [
            "Created \(CellFormat.text(object["id"])) (\(CellFormat.text(object["name"]))): \(CellFormat.list(object["permissions"], limit: 20))"
                + ((object["expiresAt"] as? String).map { ", expires \($0)" } ?? ""),
            "",
            key,
            "",
            "The key is shown only now and stored only as a hash: keep it somewhere safe.",
        ].joined(separator: "\n")
    }

    /// Every key (never its material), as a table or the API's JSON.
    public func list(json: Bool) async throws -> String {
        let answer = try await self.send(.GET, "/v1/keys")
        try MonitoringCLI.check(answer, "GET /v1/keys")
        if json { return try MonitoringCLI.prettyJSON(answer.json ?? [Any]()) }
        return Self.table(answer.array)
    }

    /// Revokes a key at once.
    public func revoke(id: String) async throws -> String {
        let answer = try await self.send(.DELETE, "/v1/keys/\(MonitoringCLI.escaped(id))")
        try MonitoringCLI.check(answer, "DELETE /v1/keys/\(id)")
        return "Revoked \(id): requests with it are refused from now on."
    }

    /// `sfdest keys list`.
    public static func table(_ items: [[String: Any]]) -> String {
        var table = TextTable(columns: [
            .init("ID"), .init("NAME"), .init("PERMISSIONS"), .init("CREATED"), .init("EXPIRES"), .init("STATUS"), .init("LAST USED"),
        ])
        let now = Date()
        for item in items {
            let expires = (item["expiresAt"] as? String).flatMap { try? Date($0, strategy: .iso8601) }
            let status = item["revokedAt"] is String ? "revoked" : (expires.map { $0 <= now } ?? false) ? "expired" : "active"
            table.rows.append([
                CellFormat.text(item["id"]), CellFormat.text(item["name"]), CellFormat.list(item["permissions"], limit: 20),
                CellFormat.time(item["createdAt"]), CellFormat.time(item["expiresAt"]), status, CellFormat.time(item["lastUsedAt"]),
            ])
        }
        return items.isEmpty ? "No keys yet besides the bootstrap key: create one with `sfdest keys create`." : table.render()
    }

    private func send(_ method: HTTPMethod, _ path: String, json: Any? = nil) async throws -> ContractClient.Answer {
        do {
            return try await self.client.send(method, path, json: json, timeout: .seconds(30))
        } catch {
            throw MonitoringCLI.Failure("cannot reach the service at \(self.client.baseURL): \(error); is `sfdest serve` running there? (--url)")
        }
    }
}
