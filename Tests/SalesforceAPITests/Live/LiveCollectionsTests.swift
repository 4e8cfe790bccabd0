import SalesforceAPI
import Testing

@Suite("Live: sObject Collections against the emulator")
struct LiveCollectionsTests {
    @Test("one mixed batch: good records succeed, each bad one gets its own code, results in order")
    func mixedBatch() async throws {
        try await LiveOrg.with(contacts: 10, leads: 3) { org in
            // setup
            let contacts = org.emulator.seededContactIds
            let leads = org.emulator.seededLeadIds
            try await org.admin.deleteRecord(contacts[2])
            try await org.admin.send(.POST, "/emulator/records/\(leads[1])/convert")
            let client = try org.client()
            let batch: [(SObjectRecord, String?)] = [
                (SObjectRecord(objectType: "Contact", id: contacts[0], ["LastName": "Lovelace", "Email": "ada@example.com"]), nil),
                (SObjectRecord(objectType: "Contact", id: leads[0], ["LastName": "Wrong type"]), "MALFORMED_ID"),
                (SObjectRecord(objectType: "Contact", id: TestRecordID.withBadChecksum(contacts[1]), ["LastName": "Bad checksum"]), "MALFORMED_ID"),
                (SObjectRecord(objectType: "Contact", id: TestRecordID.missingContact, ["LastName": "Nobody"]), "INVALID_CROSS_REFERENCE_KEY"),
                (SObjectRecord(objectType: "Contact", id: contacts[2], ["LastName": "Deleted"]), "ENTITY_IS_DELETED"),
                (SObjectRecord(objectType: "Contact", id: contacts[3], ["LastName": .string(String(repeating: "x", count: 81))]), "STRING_TOO_LONG"),
                (SObjectRecord(objectType: "Contact", id: contacts[4], ["LastName": .null]), "REQUIRED_FIELD_MISSING"),
                (SObjectRecord(objectType: "Contact", id: contacts[5], ["Email": "not-an-email"]), "INVALID_EMAIL_ADDRESS"),
                (SObjectRecord(objectType: "Contact", id: contacts[6], ["Name": "Calculated"]), "INVALID_FIELD_FOR_INSERT_UPDATE"),
                (SObjectRecord(objectType: "Lead", id: leads[1], ["LastName": "Converted"]), "CANNOT_UPDATE_CONVERTED_LEAD"),
                (SObjectRecord(objectType: "Contact", id: contacts[7], ["FirstName": "Grace", "Title": .null]), nil),
                (SObjectRecord(objectType: "Lead", id: leads[2], ["Company": "Analytical Engines"]), nil),
            ]

            // run
            let results = try await client.updateRecords(batch.map(\.0))

            // validate
            #expect(results.count == batch.count)
            for (index, (result, (record, expected))) in zip(results, batch).enumerated() {
                if let expected {
                    #expect(!result.success, "record \(index)")
                    #expect(result.statusCode == expected, "record \(index): \(result.errors)")
                    #expect(result.disposition == .permanent, "record \(index)")
                    #expect(result.errors.first?.message.isEmpty == false, "record \(index)")
                } else {
                    #expect(result.success, "record \(index): \(result.errors)")
                    #expect(result.id == record.id, "record \(index)")
                    #expect(result.disposition == nil)
                }
            }
            let stored = try await client.record("Contact", id: contacts[0])
            #expect(stored["LastName"] == "Lovelace")
            #expect(stored["Email"] == "ada@example.com")
            #expect(try await client.record("Contact", id: contacts[7])["Title"] == .null)
            #expect(results[5].errors.first?.fields == ["LastName"])
        }
    }

    @Test("UNABLE_TO_LOCK_ROW is classified retryLater")
    func lockRow() async throws {
        try await LiveOrg.with { org in
            try await org.admin.setFaults(["lockRowRate": 1.0])
            let client = try org.client()
            let results = try await client.updateRecords(org.emulator.seededContactIds.map {
                SObjectRecord(objectType: "Contact", id: $0, ["Title": "Locked"])
            })
            #expect(results.count == 5)
            for result in results {
                #expect(result.statusCode == "UNABLE_TO_LOCK_ROW")
                #expect(result.disposition == .retryLater)
            }
        }
    }

    @Test("a field the object lacks fails the whole request: INVALID_FIELD, permanent, field named")
    func invalidField() async throws {
        try await LiveOrg.with { org in
            let client = try org.client()
            let error = await salesforceError {
                try await client.updateRecords([
                    SObjectRecord(objectType: "Contact", id: org.emulator.seededContactIds[0], ["crm_9_seg__c": "realized"]),
                ])
            }
            #expect(error?.code == "INVALID_FIELD")
            #expect(error?.httpStatus == 400)
            #expect(error?.disposition == .permanent)
            #expect(error?.message.contains("crm_9_seg__c") == true)
        }
    }

    @Test("a custom Long Text Area field can be written once it exists")
    func customField() async throws {
        try await LiveOrg.with { org in
            try await org.admin.addField(objectType: "Contact", name: "crm_1_seg__c", fieldType: "textarea", length: 32768)
            let client = try org.client()
            let id = org.emulator.seededContactIds[1]
            let status = "seg-churn:exited\nseg-gold:realized \"quoted\" \\ ✓"
            let results = try await client.updateRecords([SObjectRecord(objectType: "Contact", id: id, ["crm_1_seg__c": .string(status)])])
            #expect(results.map(\.success) == [true])
            #expect(try await client.record("Contact", id: id)["crm_1_seg__c"] == .string(status))
        }
    }

    @Test("allOrNone: one bad record rolls back the good ones")
    func allOrNone() async throws {
        try await LiveOrg.with { org in
            let client = try org.client()
            let contacts = org.emulator.seededContactIds
            let before = try await client.record("Contact", id: contacts[0])["LastName"]
            let results = try await client.updateRecords([
                SObjectRecord(objectType: "Contact", id: contacts[0], ["LastName": "Rolled back"]),
                SObjectRecord(objectType: "Contact", id: contacts[1], ["Email": "bad"]),
            ], allOrNone: true)
            #expect(results.map(\.success) == [false, false])
            #expect(results[1].statusCode == "INVALID_EMAIL_ADDRESS")
            #expect(results[0].statusCode == "ALL_OR_NONE_OPERATION_ROLLED_BACK")
            #expect(results[0].disposition == .retryLater)
            #expect(try await client.record("Contact", id: contacts[0])["LastName"] == before)
        }
    }

    @Test("create returns new Ids; upsert by external Id reports created or updated")
    func createAndUpsert() async throws {
        try await LiveOrg.with { org in
            try await org.admin.addField(objectType: "Contact", name: "External_Key__c", fieldType: "string", length: 64, externalId: true)
            let client = try org.client()
            let created = try await client.createRecords([
                SObjectRecord(objectType: "Contact", ["LastName": "Hopper", "FirstName": "Grace"]),
                SObjectRecord(objectType: "Contact", ["FirstName": "No last name"]),
            ])
            #expect(created.map(\.success) == [true, false])
            #expect(created[0].id?.hasPrefix("003") == true)
            #expect(created[1].statusCode == "REQUIRED_FIELD_MISSING")

            let first = try await client.upsertRecords([
                SObjectRecord(objectType: "Contact", ["External_Key__c": "k-1", "LastName": "Turing"]),
            ], objectType: "Contact", externalIdField: "External_Key__c")
            #expect(first.map(\.success) == [true])
            #expect(first[0].created == true)
            let second = try await client.upsertRecords([
                SObjectRecord(objectType: "Contact", ["External_Key__c": "k-1", "LastName": "Turing II"]),
            ], objectType: "Contact", externalIdField: "External_Key__c")
            #expect(second[0].created == false)
            #expect(second[0].id == first[0].id)
            let id = try #require(first[0].id)
            #expect(try await client.record("Contact", id: id)["LastName"] == "Turing II")
        }
    }

    @Test("more than 200 records are refused before anything is sent")
    func tooManyRecords() async throws {
        try await LiveOrg.with { org in
            let client = try org.client()
            _ = try await client.authenticate()
            let before = try await org.admin.stats()
            let records = (0..<201).map { _ in
                SObjectRecord(objectType: "Contact", id: org.emulator.seededContactIds[0], ["Title": "x"])
            }
            let error = await salesforceError { try await client.updateRecords(records) }
            #expect(error?.code == "EXCEEDED_ID_LIMIT")
            #expect(error?.kind == .invalidRequest)
            #expect(error?.disposition == .permanent)
            let after = try await org.admin.stats()
            #expect(after.apiCalls == before.apiCalls)
            #expect(try await client.updateRecords([]).isEmpty)
            #expect(try await org.admin.stats().apiCalls == before.apiCalls)
        }
    }
}
