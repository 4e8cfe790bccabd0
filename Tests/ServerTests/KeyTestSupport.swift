import Foundation
import SfdestClient

/// Keys made through `POST /v1/keys` with the bootstrap key, for the permission tests.
extension ServerHarness {
    /// Every permission but `admin`.
    static let allPermissions = [
        "view-destinations", "manage-destinations", "activate-destinations", "view-profiles", "view-segments",
        "ingest-profiles", "view-metrics", "manage-keys",
    ]

    /// Creates a key with these permissions; returns its id and material.
    func createKey(_ permissions: [String], name: String = "test key", expiresAt: String? = nil) async throws -> (id: String, key: String) {
        let reply = try await self.api.expect(201, .POST, "/v1/keys", json: [
            "name": name, "permissions": permissions, "expiresAt": expiresAt.map { $0 as Any } ?? NSNull(),
        ] as [String: Any])
        guard let id = reply.object["id"] as? String, let key = reply.object["key"] as? String else {
            throw ContractClient.Failure(description: "the key answer has no id or key: \(reply.text)")
        }
        return (id, key)
    }

    /// A client that authenticates with `key`.
    func client(key: String) -> ContractClient {
        ContractClient(baseURL: self.service.baseURL, apiKey: key)
    }
}

extension ContractClient.Answer {
    /// The `permission` of each detail of a 403.
    var deniedPermissions: [String] {
        let details = (self.object["error"] as? [String: Any])?["details"] as? [[String: Any]] ?? []
        return details.compactMap { $0["permission"] as? String }
    }
}
