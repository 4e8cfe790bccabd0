import Foundation
import SfdestClient
import Testing

@Suite("Destinations")
struct DestinationTests {
    @Test func createStartsAsDraftWithTheDocumentedShape() async throws {
        try await ServerHarness.run { harness in
            // setup
            let connectionId = try await harness.createConnection()

            // run
            let created = try await harness.api.send(.POST, "/v1/destinations", json: [
                "name": "Sales contacts", "description": "Audiences for reps", "connectionId": connectionId, "objectType": "Contact",
                "somethingNew": true,
            ])
            let id = try #require(created.object["id"] as? String)
            let listed = try await harness.api.send(.GET, "/v1/destinations")

            // validate
            #expect(created.status == 201)
            #expect(id.hasPrefix("dest_"))
            let destination = created.object
            #expect(destination["status"] as? String == "draft")
            #expect(destination["name"] as? String == "Sales contacts")
            #expect(destination["description"] as? String == "Audiences for reps")
            #expect(destination["connectionId"] as? String == connectionId)
            #expect(destination["objectType"] as? String == "Contact")
            #expect((destination["mappings"] as? [Any])?.isEmpty == true)
            #expect((destination["segments"] as? [Any])?.isEmpty == true)
            let backlog = try #require(destination["backlog"] as? [String: Int])
            #expect(backlog == ["pending": 0, "inFlight": 0, "retrying": 0, "failed": 0])
            #expect((destination["delivery"] as? [String: Any])?["status"] as? String == "idle")
            #expect(destination["deliveryError"] is NSNull)
            #expect(destination["lastDeliveryAt"] is NSNull)
            #expect(destination["backfill"] as? Bool == false)
            #expect(destination["createdAt"] as? String != nil && destination["updatedAt"] as? String != nil)
            #expect(listed.array.map { $0["id"] as? String } == [id])
        }
    }

    @Test func deleteIsRefusedWhileEnabledThenRemovesTheDestinationAndFreesItsConnection() async throws {
        try await ServerHarness.run { harness in
            let id = try await harness.createEnabledDestination()
            let connectionId = try #require(try await harness.api.expect(200, .GET, "/v1/destinations/\(id)").object["connectionId"] as? String)
            try await harness.api.expect(202, .POST, "/v1/profiles", json: ServerHarness.profile(crmId: harness.emulator.seededContactIds[0]))
            let refused = try await harness.api.send(.DELETE, "/v1/destinations/\(id)")
            #expect(refused.status == 409)
            #expect(refused.errorCode == "destination_enabled")
            #expect(refused.errorMessage.contains("disable"))
            #expect(try await harness.api.send(.DELETE, "/v1/connections/\(connectionId)").status == 409)
            try await harness.api.expect(200, .POST, "/v1/destinations/\(id)/disable")
            try await harness.api.expect(204, .DELETE, "/v1/destinations/\(id)")
            let audit = try await harness.api.expect(200, .GET, "/v1/audit?limit=1").array
            #expect(audit.first?["action"] as? String == "destination.delete")
            #expect(audit.first?["targetId"] as? String == id)
            #expect((audit.first?["before"] as? [String: Any])?["status"] as? String == "disabled")
            #expect(try await harness.api.send(.GET, "/v1/destinations/\(id)").status == 404)
            #expect(try await harness.api.send(.GET, "/v1/destinations/\(id)/runs").status == 404)
            #expect(try await harness.api.send(.DELETE, "/v1/destinations/\(id)").status == 404)
            #expect(try await harness.store.runs(destinationId: id, limit: 10).isEmpty)
            try await harness.api.expect(204, .DELETE, "/v1/connections/\(connectionId)")
        }
    }

    @Test func createRefusesUnknownObjectTypesAndConnections() async throws {
        try await ServerHarness.run { harness in
            let connectionId = try await harness.createConnection()
            let account = try await harness.api.send(.POST, "/v1/destinations", json: ["name": "A", "connectionId": connectionId, "objectType": "Account"])
            let nothing = try await harness.api.send(.POST, "/v1/destinations", json: ["connectionId": "conn_missing"])
            #expect(account.status == 422)
            #expect(account.errorCode == "invalid_request")
            #expect(account.detailFields == ["objectType"])
            #expect(account.errorMessage.contains("Contact or Lead"))
            #expect(nothing.status == 422)
            #expect(Set(nothing.detailFields) == ["name", "connectionId", "objectType"])
        }
    }

    @Test func mappingsListEveryProblemByIndex() async throws {
        try await ServerHarness.run { harness in
            // setup
            let id = try await harness.createDestination()

            // run
            let invalid = try await harness.api.send(.PUT, "/v1/destinations/\(id)/mappings", json: [
                ["source": "identityMap:crmID", "target": "identity:SalesforceId"],
                ["source": "person.name.lastName", "target": "attribute:LastName"],
                ["source": "xdm:person.name.firstName", "target": "FirstName"],
                ["source": "xdm:a", "target": "attribute:Email"],
                ["source": "xdm:b", "target": "attribute:Email"],
                ["target": "attribute:Title"],
            ])
            let wrongType = try await harness.api.send(.PUT, "/v1/destinations/\(id)/mappings", json: [["source": "xdm:a", "target": 7]])
            let notAList = try await harness.api.send(.PUT, "/v1/destinations/\(id)/mappings", json: ["source": "xdm:a"])
            let valid = try await harness.api.send(.PUT, "/v1/destinations/\(id)/mappings", json: ServerHarness.contactMappings)
            let shown = try await harness.api.send(.GET, "/v1/destinations/\(id)")

            // validate
            #expect(invalid.status == 422)
            #expect(invalid.errorCode == "validation_failed")
            #expect(invalid.detailFields == ["[1].source", "[2].target", "[5].source"])
            #expect(wrongType.status == 422)
            #expect(wrongType.detailFields == ["[0].target"])
            #expect(notAList.status == 422)
            #expect(valid.status == 200)
            #expect(valid.array.count == 3)
            #expect((shown.object["mappings"] as? [[String: String]]) == ServerHarness.contactMappings)
            // Duplicates are caught once every line reads.
            let duplicate = try await harness.api.send(.PUT, "/v1/destinations/\(id)/mappings", json: [
                ["source": "xdm:a", "target": "attribute:Email"], ["source": "xdm:b", "target": "attribute:Email"],
            ])
            #expect(duplicate.detailFields == ["[1].target"])
        }
    }

    @Test func segmentsListEveryProblemIncludingTheFieldLimit() async throws {
        try await ServerHarness.run { harness in
            // setup
            let id = try await harness.createDestination()
            var segments: [[String: Any]] = [
                ["segmentId": "spaces", "mappingId": "crm 1 seg"],
                ["segmentId": "long", "mappingId": String(repeating: "x", count: 41)],
                ["segmentId": "accent", "mappingId": "crm_é_seg"],
                ["segmentId": "dates", "mappingId": "crm_dates", "startDate": "2026-12-01", "endDate": "2026-11-01"],
                ["mappingId": "crm_nothing"],
            ]
            segments += (1...26).map { ["segmentId": "seg-\($0)", "mappingId": "crm_\($0)_seg"] }

            // run
            let invalid = try await harness.api.send(.PUT, "/v1/destinations/\(id)/segments", json: segments)
            let shared = (1...30).map { ["segmentId": "seg-\($0)", "mappingId": $0 % 2 == 0 ? "crm_even" : "crm_odd__c"] }
            let valid = try await harness.api.send(.PUT, "/v1/destinations/\(id)/segments", json: shared)
            let wrongType = try await harness.api.send(.PUT, "/v1/destinations/\(id)/segments", json: [["segmentId": 1, "mappingId": "crm"]])
            let duplicate = try await harness.api.send(.PUT, "/v1/destinations/\(id)/segments", json: [
                ["segmentId": "a", "mappingId": "crm_1_seg"], ["segmentId": "a", "mappingId": "crm_2_seg", "endDate": NSNull()],
            ])

            // validate
            #expect(invalid.status == 422)
            #expect(invalid.errorCode == "validation_failed")
            #expect(invalid.detailFields == ["[0].mappingId", "[1].mappingId", "[2].mappingId", "[3].endDate", "[4].segmentId", "segments"])
            #expect(invalid.detailMessages[0].contains("spaces"))
            #expect(invalid.detailMessages[1].contains("40"))
            #expect(invalid.detailMessages.last?.contains("25") == true)
            #expect(valid.status == 200)
            #expect(valid.array.count == 30)
            #expect(wrongType.status == 422)
            #expect(wrongType.detailFields == ["[0].segmentId"])
            #expect(duplicate.detailFields == ["[1].segmentId"])
        }
    }

    @Test func enableChecksEveryProblemAgainstTheOrgThenEnables() async throws {
        try await ServerHarness.run { harness in
            // setup: no identity mapping, LastName unmapped, one Mapping ID missing in the org, one not a Long Text Area
            let id = try await harness.createDestination()
            try await harness.admin.addField(objectType: "Contact", name: "crm_text__c", fieldType: "string", length: 255)
            _ = try await harness.api.send(.PUT, "/v1/destinations/\(id)/mappings", json: [["source": "xdm:person.name.firstName", "target": "attribute:FirstName"]])
            _ = try await harness.api.send(.PUT, "/v1/destinations/\(id)/segments", json: [
                ["segmentId": "seg-gold", "mappingId": "crm_1_seg"], ["segmentId": "seg-text", "mappingId": "crm_text"],
            ])

            // run
            let refused = try await harness.api.send(.POST, "/v1/destinations/\(id)/enable")

            // validate
            #expect(refused.status == 422)
            #expect(refused.errorCode == "validation_failed")
            let messages = refused.detailMessages
            #expect(messages.count == 4)
            #expect(messages.contains { $0.contains("identity:SalesforceId") })
            #expect(messages.contains { $0.contains("LastName") })
            #expect(messages.contains { $0.contains("crm_1_seg__c") && $0.contains("Text Area (Long)") })
            #expect(messages.contains { $0.contains("crm_text__c") && $0.contains("string") })
            let draft = try await harness.api.send(.GET, "/v1/destinations/\(id)")
            #expect(draft.object["status"] as? String == "draft")

            // fix: map identity and LastName, create the field in the org, drop the text field
            try await harness.admin.addLongTextAreaFields(["crm_1_seg__c"], to: ["Contact"])
            _ = try await harness.api.send(.PUT, "/v1/destinations/\(id)/mappings", json: ServerHarness.contactMappings)
            _ = try await harness.api.send(.PUT, "/v1/destinations/\(id)/segments", json: [["segmentId": "seg-gold", "mappingId": "crm_1_seg"]])
            let enabled = try await harness.api.send(.POST, "/v1/destinations/\(id)/enable")
            #expect(enabled.status == 200)
            #expect(enabled.object["status"] as? String == "enabled")
            #expect(enabled.object["backfill"] is Bool)

            // An enabled destination checks new settings against the org before saving them.
            let unknownField = try await harness.api.send(.PUT, "/v1/destinations/\(id)/mappings", json: ServerHarness.contactMappings + [
                ["source": "xdm:score", "target": "attribute:Score__c"],
            ])
            #expect(unknownField.status == 422)
            #expect(unknownField.detailMessages.contains { $0.contains("Score__c") })
            let unchanged = try await harness.api.send(.GET, "/v1/destinations/\(id)")
            #expect((unchanged.object["mappings"] as? [Any])?.count == 3)

            let disabled = try await harness.api.send(.POST, "/v1/destinations/\(id)/disable")
            #expect(disabled.object["status"] as? String == "disabled")
        }
    }

    @Test func enableSaysWhenTheConnectionIsRefused() async throws {
        try await ServerHarness.run { harness in
            let id = try await harness.createDestination()
            try await harness.admin.setFaults(["ipRestricted": true])
            let reply = try await harness.api.send(.POST, "/v1/destinations/\(id)/enable")
            #expect(reply.status == 422)
            #expect(reply.errorCode == "authentication_failed")
            let missing = try await harness.api.send(.POST, "/v1/destinations/dest_missing/enable")
            #expect(missing.status == 404)
        }
    }
}
