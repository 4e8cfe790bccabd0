import Foundation
import SfdestClient
import Testing

@Suite("The audit log of configuration changes")
struct AuditTests {
    static let webhookSecret = "whsec-audit-0123456789abcdef"
    static let webhookURL = "http://127.0.0.1:9/hooks/token-in-the-path-7f3a?sig=query-token-9c21"

    @Test func everyChangeIsRecordedWithWhoBeforeAndAfterAndNoSecret() async throws {
        try await ServerHarness.run { harness in
            // setup: the changes are made with a named admin key
            let auditor = try await harness.createKey(["admin"], name: "auditor")
            let api = harness.client(key: auditor.key)
            try await harness.admin.addLongTextAreaFields(["crm_1_seg__c"], to: ["Contact"])

            // run: one change of every kind
            let connection = try await api.expect(201, .POST, "/v1/connections", json: harness.connectionBody()).object["id"] as? String ?? ""
            try await api.expect(200, .PUT, "/v1/connections/\(connection)", json: harness.connectionBody(name: "Renamed org"))
            let destination = try await api.createDestination(connectionId: connection, name: "Audited contacts")
            try await api.expect(200, .PUT, "/v1/destinations/\(destination)/mappings", json: ServerHarness.contactMappings)
            try await api.expect(200, .PUT, "/v1/destinations/\(destination)/segments", json: [["segmentId": "seg-gold", "mappingId": "crm_1_seg"]])
            try await api.expect(200, .PUT, "/v1/destinations/\(destination)/alerts", json: ["runStart": true])
            try await api.expect(200, .POST, "/v1/destinations/\(destination)/enable")
            try await api.expect(200, .POST, "/v1/destinations/\(destination)/failures/retry", json: ["codes": ["INVALID_EMAIL_ADDRESS"]])
            try await api.expect(200, .POST, "/v1/destinations/\(destination)/disable")
            let subscription = try await api.expect(201, .POST, "/v1/alerts/subscriptions", json: [
                "url": Self.webhookURL, "secret": Self.webhookSecret,
            ]).object["id"] as? String ?? ""
            try await api.expect(204, .DELETE, "/v1/alerts/subscriptions/\(subscription)")
            let spare = try await api.expect(201, .POST, "/v1/connections", json: harness.connectionBody(name: "Spare")).object["id"] as? String ?? ""
            try await api.expect(204, .DELETE, "/v1/connections/\(spare)")
            let made = try await api.expect(201, .POST, "/v1/keys", json: ["name": "temporary", "permissions": ["view-metrics"]]).object
            let madeId = made["id"] as? String ?? ""
            try await api.expect(204, .DELETE, "/v1/keys/\(madeId)")
            let reply = try await api.expect(200, .GET, "/v1/audit")
            let limited = try await api.expect(200, .GET, "/v1/audit?limit=2")

            // validate: newest first, one entry per change, each made by the auditor
            let entries = reply.array.filter { $0["keyId"] as? String == auditor.id }
            #expect(entries.map { $0["action"] as? String ?? "" } == [
                "key.revoke", "key.create", "connection.delete", "connection.create", "subscription.delete", "subscription.create",
                "destination.disable", "failures.retry", "destination.enable", "destination.alerts", "destination.segments",
                "destination.mappings", "destination.create", "connection.update", "connection.create",
            ])
            #expect(entries.allSatisfy { $0["keyName"] as? String == "auditor" && ($0["id"] as? String)?.isEmpty == false && $0["at"] is String })
            #expect(limited.array.map { $0["action"] as? String } == ["key.revoke", "key.create"])
            func entry(_ action: String, _ target: String) -> [String: Any] {
                entries.first { $0["action"] as? String == action && $0["targetId"] as? String == target } ?? [:]
            }
            // connections: settings before and after, each secret as ***
            let created = entry("connection.create", connection)
            #expect(created["before"] is NSNull)
            let auth = ((created["after"] as? [String: Any])?["auth"] as? [String: Any]) ?? [:]
            #expect(auth["password"] as? String == "***")
            #expect(auth["securityToken"] as? String == "***")
            #expect(auth["clientSecret"] as? String == "***")
            #expect(auth["username"] as? String == "integration@emulator.sfdest")
            let updated = entry("connection.update", connection)
            #expect((updated["before"] as? [String: Any])?["name"] as? String == "Emulator org")
            #expect((updated["after"] as? [String: Any])?["name"] as? String == "Renamed org")
            #expect((entry("connection.delete", spare)["before"] as? [String: Any])?["name"] as? String == "Spare")
            // destinations
            #expect((entry("destination.create", destination)["after"] as? [String: Any])?["name"] as? String == "Audited contacts")
            let enabled = entry("destination.enable", destination)
            #expect((enabled["before"] as? [String: Any])?["status"] as? String == "draft")
            #expect((enabled["after"] as? [String: Any])?["status"] as? String == "enabled")
            #expect((entry("destination.disable", destination)["after"] as? [String: Any])?["status"] as? String == "disabled")
            let mappings = entry("destination.mappings", destination)
            #expect((mappings["before"] as? [Any])?.isEmpty == true)
            #expect((mappings["after"] as? [[String: Any]])?.count == ServerHarness.contactMappings.count)
            #expect(((entry("destination.segments", destination)["after"] as? [[String: Any]])?.first)?["segmentId"] as? String == "seg-gold")
            let alerts = entry("destination.alerts", destination)
            #expect((alerts["before"] as? [String: Any])?["runStart"] as? Bool == false)
            #expect((alerts["after"] as? [String: Any])?["runStart"] as? Bool == true)
            #expect((entry("failures.retry", destination)["after"] as? [String: Any])?["codes"] as? [String] == ["INVALID_EMAIL_ADDRESS"])
            // subscriptions: scheme and host of the webhook only, the secret as ***
            let subscribed = (entry("subscription.create", subscription)["after"] as? [String: Any]) ?? [:]
            #expect(subscribed["url"] as? String == "http://127.0.0.1:9")
            #expect(subscribed["secret"] as? String == "***")
            #expect((entry("subscription.delete", subscription)["before"] as? [String: Any])?["url"] as? String == "http://127.0.0.1:9")
            // keys: what they grant, never their material
            #expect((entry("key.create", madeId)["after"] as? [String: Any])?["permissions"] as? [String] == ["view-metrics"])
            #expect((entry("key.revoke", madeId)["after"] as? [String: Any])?["revokedAt"] as? String != nil)
            #expect((entry("key.revoke", madeId)["before"] as? [String: Any])?["revokedAt"] is NSNull)

            // No secret anywhere in the log or the service's log lines.
            let secrets = ConnectionTests.secrets + [
                Self.webhookSecret, "token-in-the-path-7f3a", "query-token-9c21", auditor.key, made["key"] as? String ?? "<missing>",
            ]
            #expect(!harness.logs.all.isEmpty)
            for secret in secrets {
                #expect(!reply.text.contains(secret), "the audit log shows \(secret)")
                #expect(!harness.logs.text.contains(secret), "the logs show \(secret)")
            }
        }
    }
}
