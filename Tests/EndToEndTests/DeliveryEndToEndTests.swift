import Activation
import EmulatorAdminClient
import Foundation
import SfdestRuntime
import Testing

@Suite("End to end: the real service against the real emulator")
struct DeliveryEndToEndTests {
    @Test func contactsGetMappedFieldsAndAudienceStatuses() async throws {
        try await EndToEnd.with(contacts: 30) { e2e in
            // setup
            let destination = try await e2e.configureDestination()
            let ids = e2e.emulator.seededContactIds
            // run: 18-character Ids and 15-character Ids, one audience field and one shared field
            var profiles: [[String: Any]] = []
            for (index, id) in ids.prefix(20).enumerated() {
                let addressed = index % 2 == 0 ? id : String(id.prefix(15))
                profiles.append(xdmProfile(id: addressed, lastName: "Last\(index)", firstName: "First\(index)", email: "p\(index)@example.com",
                                           segments: ["seg-gold": "realized", "seg-b": "existing", "seg-a": index % 3 == 0 ? "exited" : "realized"]))
            }
            let answer = try await e2e.post(profiles)
            #expect(answer.object["accepted"] as? Int == 20)
            try await e2e.waitUntilDelivered(destination)

            // validate: every record holds what was sent, in one call
            for (index, id) in ids.prefix(20).enumerated() {
                let record = try #require(try await e2e.admin.record(id))
                #expect(record["LastName"] as? String == "Last\(index)")
                #expect(record["FirstName"] as? String == "First\(index)")
                #expect(record["Email"] as? String == "p\(index)@example.com")
                #expect(record["crm_1_seg__c"] as? String == "realized")
                #expect(record["crm_2_seg__c"] as? String == "seg-a:\(index % 3 == 0 ? "exited" : "realized")\nseg-b:existing")
            }
            #expect(try await e2e.patchCalls() == 1)
            let totals = try await e2e.runTotals(destination)
            #expect(totals["profilesReceived"] == 20)
            #expect(totals["identitiesActivated"] == 20)

            // The same profiles again: no call.
            try await e2e.post(profiles)
            try await e2e.waitUntilDelivered(destination)
            #expect(try await e2e.patchCalls() == 1)
            #expect(try await e2e.runTotals(destination)["identitiesUnchanged"] == 20)

            // A partial update: only FirstName changes; other fields, including ones sfdest never
            // manages (Title), keep their values.
            let before = try #require(try await e2e.admin.record(ids[0]))
            try await e2e.post([xdmProfile(id: ids[0], firstName: "Renamed", segments: ["seg-gold": "existing"], time: "2026-11-21T10:00:00Z")])
            try await e2e.waitUntilDelivered(destination)
            let after = try #require(try await e2e.admin.record(ids[0]))
            #expect(after["FirstName"] as? String == "Renamed")
            #expect(after["crm_1_seg__c"] as? String == "existing")
            #expect(after["LastName"] as? String == "Last0")
            #expect(after["Title"] as? String == before["Title"] as? String)
            #expect(try await e2e.patchCalls() == 2)
            let state = try await e2e.api.expect(200, .GET, "/v1/destinations/\(destination)/records/\(String(ids[0].prefix(15)))").object
            #expect((state["acknowledged"] as? [String: Any])?["FirstName"] as? String == "Renamed")
        }
    }

    @Test func leadsNeedCompanyAndGetIt() async throws {
        try await EndToEnd.with(contacts: 0, leads: 5) { e2e in
            let destination = try await e2e.configureDestination(objectType: "Lead", segments: [["segmentId": "seg-gold", "mappingId": "crm_1_seg"]])
            let leads = e2e.emulator.seededLeadIds
            try await e2e.post(leads.map { xdmProfile(id: $0, lastName: "Lead \($0.suffix(4))", company: "Analytical Engines") })
            try await e2e.waitUntilDelivered(destination)
            for id in leads {
                let record = try #require(try await e2e.admin.record(id))
                #expect(record["Company"] as? String == "Analytical Engines")
                #expect(record["crm_1_seg__c"] as? String == "realized")
            }
        }
    }

    @Test func badRecordsAreReportedWhileTheGoodOnesOfTheBatchLand() async throws {
        try await EndToEnd.with(contacts: 10) { e2e in
            let destination = try await e2e.configureDestination()
            let ids = e2e.emulator.seededContactIds
            let unknown = try SalesforceRecordID("003xx00000ZZZZZ").value
            try await e2e.post([
                xdmProfile(id: ids[0], lastName: "Good0"),
                xdmProfile(id: "003xx000004TmiQAAA", lastName: "BadChecksum"),
                xdmProfile(id: unknown, lastName: "Nobody"),
                xdmProfile(id: ids[1], lastName: String(repeating: "x", count: 81)),
                xdmProfile(id: ids[2], lastName: "Mail", email: "not-an-email"),
                xdmProfile(id: e2e.emulator.seededLeadIds[0], lastName: "Lead"),
                xdmProfile(id: ids[3], lastName: "Good3"),
            ])
            try await e2e.waitUntilDelivered(destination)
            #expect(try await e2e.admin.record(ids[0])?["LastName"] as? String == "Good0")
            #expect(try await e2e.admin.record(ids[3])?["LastName"] as? String == "Good3")
            let groups = try await e2e.api.expect(200, .GET, "/v1/destinations/\(destination)/failures").object["groups"] as? [[String: Any]] ?? []
            let codes = Dictionary(uniqueKeysWithValues: groups.map { ($0["code"] as? String ?? "", $0["kind"] as? String ?? "") })
            #expect(codes["MALFORMED_ID"] == "excluded")
            #expect(codes["VALUE_TOO_LONG"] == "excluded")
            #expect(codes["ID_OF_OTHER_OBJECT"] == "excluded")
            #expect(codes["INVALID_CROSS_REFERENCE_KEY"] == "failed")
            #expect(codes["INVALID_EMAIL_ADDRESS"] == "failed")
            let totals = try await e2e.runTotals(destination)
            #expect(totals["profilesReceived"] == 7)
            #expect(totals["identitiesActivated"] == 2)
            #expect(totals["identitiesExcluded"] == 3)
            #expect(totals["identitiesFailed"] == 2)
            // The bad ones cost no call of their own: one request carried the batch.
            #expect(try await e2e.patchCalls() == 1)
        }
    }

    @Test func aWrongAPIKeyIsRefused() async throws {
        try await EndToEnd.with(contacts: 1) { e2e in
            let refused = try await e2e.api.send(.GET, "/v1/destinations", authorization: .key("wrong"))
            let allowed = try await e2e.api.send(.GET, "/v1/destinations")
            #expect(refused.status == 401)
            #expect(allowed.status == 200)
        }
    }

    @Test func secretsAreNeitherInTheDataDirectoryNorInTheLogs() async throws {
        try await EndToEnd.with(contacts: 3) { e2e in
            let destination = try await e2e.configureDestination()
            try await e2e.post([xdmProfile(id: e2e.emulator.seededContactIds[0], lastName: "Secretive")])
            try await e2e.waitUntilDelivered(destination)
            // A second key, a webhook whose URL carries a token in its path, and the audit log of it all.
            let created = try await e2e.api.expect(201, .POST, "/v1/keys", json: ["name": "reader", "permissions": ["view-destinations"]])
            let secondKey = try #require(created.object["key"] as? String)
            let webhookToken = "T0KEN-IN-THE-PATH-\(UUID().uuidString)"
            let webhookSecret = "webhook-signing-secret-\(UUID().uuidString)"
            try await e2e.api.expect(201, .POST, "/v1/alerts/subscriptions", json: [
                "url": "http://127.0.0.1:9/services/\(webhookToken)?token=\(webhookToken)", "secret": webhookSecret,
            ])
            #expect(try await e2e.api.send(.GET, "/v1/destinations", authorization: .key(secondKey)).status == 200)
            let audit = try await e2e.api.expect(200, .GET, "/v1/audit?limit=1000")
            #expect(audit.array.count >= 5, "the audit log should hold the configuration made above: \(audit.text)")
            var onDisk = Data()
            for name in try FileManager.default.contentsOfDirectory(atPath: e2e.dataDirectory) {
                onDisk += try Data(contentsOf: URL(fileURLWithPath: e2e.dataDirectory).appendingPathComponent(name))
            }
            let logs = e2e.logs.text
            #expect(!logs.isEmpty)
            // Every access token the org issued to the service, too.
            let tokens = try await e2e.admin.issuedTokens()
            #expect(!tokens.isEmpty)
            let secrets = [EndToEnd.password + EndToEnd.securityToken, EndToEnd.securityToken, EndToEnd.clientSecret, e2e.api.apiKey,
                           secondKey, webhookToken, webhookSecret] + tokens
            for secret in secrets {
                #expect(onDisk.range(of: Data(secret.utf8)) == nil, "a secret is on disk in plain text")
                #expect(!logs.contains(secret), "a secret is in the logs")
                #expect(!audit.text.contains(secret), "a secret is in the audit log")
            }
            let connections = try await e2e.api.expect(200, .GET, "/v1/connections")
            let text = String(decoding: try JSONSerialization.data(withJSONObject: connections.json ?? []), as: UTF8.self)
            #expect(!text.contains(EndToEnd.clientSecret) && !text.contains(EndToEnd.securityToken))
        }
    }
}
