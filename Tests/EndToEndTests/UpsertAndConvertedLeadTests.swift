import EmulatorAdminClient
import Foundation
import SfdestClient
import Testing

/// Upsert by an external Id and converted leads, through the contract against the emulator.
@Suite("Upsert by external Id and converted leads")
struct UpsertAndConvertedLeadTests {
    static let keyField = "Sfdest_Key__c"

    /// A profile addressed by its email alone (no Salesforce Id).
    static func emailProfile(_ email: String, lastName: String?, segments: [String: String] = ["seg-gold": "realized"]) -> [String: Any] {
        var profile: [String: Any] = ["identityMap": ["email": [["id": email]]]]
        if let lastName { profile["person"] = ["name": ["lastName": lastName]] }
        profile["segmentMembership"] = ["ups": segments.mapValues { ["status": $0, "lastQualificationTime": "2026-11-20T10:00:00Z"] }]
        return profile
    }

    static let upsertMappings: [[String: String]] = [
        ["source": "identityMap:email", "target": "identity:ExternalId:\(keyField)"],
        ["source": "xdm:person.name.lastName", "target": "attribute:LastName"],
    ]

    /// An upsert Contact destination on the emulator, keyed by `Sfdest_Key__c`; returns its id.
    static func upsertDestination(_ e2e: EndToEnd, externalId: Bool = true, enable: Bool = true) async throws -> String {
        try await e2e.admin.addField(objectType: "Contact", name: keyField, fieldType: "string", length: 255, externalId: externalId)
        try await e2e.admin.addLongTextAreaFields(["crm_1_seg__c"], to: ["Contact"])
        let connection = try await e2e.api.connectToEmulator(loginURL: e2e.emulator.baseURL)
        let created = try await e2e.api.expect(201, .POST, "/v1/destinations", json: [
            "name": "Upserted contacts", "connectionId": connection, "objectType": "Contact", "operation": "upsert",
        ])
        #expect(created.object["operation"] as? String == "upsert")
        let id = try #require(created.object["id"] as? String)
        try await e2e.api.configureDestination(id, mappings: Self.upsertMappings, segments: [["segmentId": "seg-gold", "mappingId": "crm_1_seg"]], enable: enable)
        return id
    }

    @Test("upsert creates the missing records, remembers their Ids, and updates the same records later")
    func upsertCreatesThenUpdates() async throws {
        try await EndToEnd.with { e2e in
            let destination = try await Self.upsertDestination(e2e)
            let emails = (0..<250).map { "person\($0)@example.com" }
            try await e2e.post(emails.map { Self.emailProfile($0, lastName: "First \($0)") })
            try await e2e.waitUntilDelivered(destination)
            let stats = try await e2e.admin.stats()
            #expect(stats.callsByEndpoint["PATCH /composite/sobjects/Contact/\(Self.keyField)"] == 2, "250 records: the minimum 2 upsert calls")
            #expect(stats.callsByEndpoint["PATCH /composite/sobjects"] == nil)
            for email in [emails[0], emails[137], emails[249]] {
                let ids = try await e2e.admin.recordIds(objectType: "Contact", field: Self.keyField, value: email)
                try #require(ids.count == 1, "one Contact per key")
                let contact = try #require(try await e2e.admin.record(ids[0]))
                #expect(contact["LastName"] as? String == "First \(email)")
                #expect(contact["crm_1_seg__c"] as? String == "realized")
                // The record view answers by the external Id value and by the remembered Id alike.
                let byKey = try await e2e.api.expect(200, .GET, "/v1/destinations/\(destination)/records/\(email)")
                #expect(byKey.object["salesforceId"] as? String == ids[0])
                #expect(byKey.object["recordId"] as? String == email)
                let byId = try await e2e.api.expect(200, .GET, "/v1/destinations/\(destination)/records/\(ids[0])")
                #expect(byId.object["recordId"] as? String == email)
            }
            // A later change goes to the same records: no second Contact for any key.
            try await e2e.post(emails.prefix(10).map { Self.emailProfile($0, lastName: "Second \($0)") })
            try await e2e.waitUntilDelivered(destination)
            for email in emails.prefix(10) {
                let ids = try await e2e.admin.recordIds(objectType: "Contact", field: Self.keyField, value: email)
                try #require(ids.count == 1)
                #expect(try await e2e.admin.record(ids[0])?["LastName"] as? String == "Second \(email)")
            }
            let totals = try await e2e.runTotals(destination)
            #expect(totals["identitiesActivated"] == 260)
            #expect(totals["identitiesFailed"] == 0)
        }
    }

    @Test("a request that timed out after Salesforce applied it is retried without a duplicate")
    func retryAfterTimeoutNeverDuplicates() async throws {
        try await EndToEnd.with(configure: { settings in
            settings.salesforceRequestTimeout = .milliseconds(400)
            settings.delivery.ambiguousSettle = 0.5
        }) { e2e in
            let destination = try await Self.upsertDestination(e2e)
            let before = try await e2e.admin.stats().recordsWritten
            // The first upsert is held past the client's timeout, then applied.
            try await e2e.admin.setFaults(["holdRestCalls": true])
            let emails = (0..<5).map { "timeout\($0)@example.com" }
            try await e2e.post(emails.map { Self.emailProfile($0, lastName: "Held") })
            // Once the org holds the upsert, let the client's 400 ms run out, then let the org apply it.
            let deadline = ContinuousClock.now + .seconds(30)
            while try await e2e.admin.stats().restCallsInFlight == 0 {
                try #require(ContinuousClock.now < deadline, "the upsert never reached the org")
                try await Task.sleep(for: .milliseconds(20))
            }
            try await Task.sleep(for: .milliseconds(1_200))
            try await e2e.admin.setFaults(["holdRestCalls": false])
            try await e2e.waitUntilDelivered(destination)
            let stats = try await e2e.admin.stats()
            #expect(stats.recordsWritten - before >= 10, "the held request was applied and the retry wrote again")
            for email in emails {
                #expect(try await e2e.admin.recordIds(objectType: "Contact", field: Self.keyField, value: email).count == 1)
            }
        }
    }

    @Test("enabling an upsert destination checks its external Id field in the org")
    func preflightChecksTheExternalIdField() async throws {
        try await EndToEnd.with { e2e in
            let destination = try await Self.upsertDestination(e2e, externalId: false, enable: false)
            let refused = try await e2e.api.expect(422, .POST, "/v1/destinations/\(destination)/enable")
            #expect(refused.errorCode == "validation_failed")
            let messages = refused.detailMessages
            #expect(messages.contains { $0.contains("Contact.\(Self.keyField) is not an External ID field") }, "\(messages)")

            let other = try await e2e.api.expect(201, .POST, "/v1/destinations", json: [
                "name": "Missing key field", "connectionId": try await e2e.api.connectToEmulator(loginURL: e2e.emulator.baseURL),
                "objectType": "Contact", "operation": "upsert",
            ])
            let otherId = try #require(other.object["id"] as? String)
            try await e2e.api.configureDestination(otherId, mappings: [
                ["source": "identityMap:email", "target": "identity:ExternalId:Absent_Key__c"],
                ["source": "xdm:person.name.lastName", "target": "attribute:LastName"],
            ], segments: [["segmentId": "seg-gold", "mappingId": "crm_1_seg"]], enable: false)
            let missing = try await e2e.api.expect(422, .POST, "/v1/destinations/\(otherId)/enable")
            let details = missing.detailMessages
            #expect(details.contains { $0.contains("Contact has no field Absent_Key__c") }, "\(details)")
            #expect(try await e2e.admin.stats().callsByEndpoint.keys.allSatisfy { !$0.hasPrefix("PATCH") })
        }
    }

    @Test("an upsert profile without the fields a create needs is excluded before any call")
    func missingCreateFieldsAreExcluded() async throws {
        try await EndToEnd.with { e2e in
            let destination = try await Self.upsertDestination(e2e)
            try await e2e.post([Self.emailProfile("nameless@example.com", lastName: nil), Self.emailProfile("named@example.com", lastName: "Named")])
            try await e2e.waitUntilDelivered(destination)
            let failures = try await e2e.api.expect(200, .GET, "/v1/destinations/\(destination)/failures").object["groups"] as? [[String: Any]] ?? []
            let excluded = try #require(failures.first { $0["code"] as? String == "REQUIRED_VALUE_MISSING" })
            #expect(excluded["kind"] as? String == "excluded")
            #expect((excluded["message"] as? String)?.contains("LastName is required to create a Contact") == true)
            #expect(try await e2e.admin.recordIds(objectType: "Contact", field: Self.keyField, value: "nameless@example.com").isEmpty)
            #expect(try await e2e.admin.recordIds(objectType: "Contact", field: Self.keyField, value: "named@example.com").count == 1)
        }
    }

    @Test("two org records sharing a key fail with DUPLICATE_EXTERNAL_ID and their Ids")
    func duplicateExternalIdIsReported() async throws {
        try await EndToEnd.with { e2e in
            let destination = try await Self.upsertDestination(e2e)
            let twins = try await e2e.admin.createRecords(objectType: "Contact", records: [
                ["LastName": "Twin A", Self.keyField: "twin@example.com"], ["LastName": "Twin B", Self.keyField: "twin@example.com"],
            ])
            try await e2e.post([Self.emailProfile("twin@example.com", lastName: "Twin")])
            try await e2e.waitUntilDelivered(destination)
            let failures = try await e2e.api.expect(200, .GET, "/v1/destinations/\(destination)/failures").object["groups"] as? [[String: Any]] ?? []
            let duplicate = try #require(failures.first { $0["code"] as? String == "DUPLICATE_EXTERNAL_ID" })
            #expect(duplicate["kind"] as? String == "failed")
            for twin in twins { #expect((duplicate["message"] as? String)?.contains(twin) == true) }
            #expect(duplicate["sampleRecordIds"] as? [String] == ["twin@example.com"])
        }
    }

    @Test("a backfill over the threshold upserts through Bulk API 2.0 by the external Id, and remembers the Ids")
    func bulkBackfillUpserts() async throws {
        try await EndToEnd.with(contacts: 0, leads: 0) { e2e in
            try await e2e.admin.addField(objectType: "Contact", name: Self.keyField, fieldType: "string", length: 255, externalId: true)
            try await e2e.admin.addLongTextAreaFields(["crm_1_seg__c"], to: ["Contact"])
            // Ten of the keys already have a Contact: the job updates those and creates the rest.
            let emails = (0..<60).map { "bulk\($0)@example.com" }
            let existing = try await e2e.admin.createRecords(objectType: "Contact", records: emails.prefix(10).map { ["LastName": "Old", Self.keyField: $0] })
            let connection = try await e2e.api.connectToEmulator(loginURL: e2e.emulator.baseURL)
            let created = try await e2e.api.expect(201, .POST, "/v1/destinations", json: [
                "name": "Bulk upserts", "connectionId": connection, "objectType": "Contact", "operation": "upsert", "bulkThreshold": 50,
            ])
            let destination = try #require(created.object["id"] as? String)
            try await e2e.api.configureDestination(destination, mappings: Self.upsertMappings, segments: [["segmentId": "seg-gold", "mappingId": "crm_1_seg"]], enable: false)
            try await e2e.post(emails.map { Self.emailProfile($0, lastName: "Bulk \($0)") })
            try await e2e.api.expect(200, .POST, "/v1/destinations/\(destination)/enable")
            try await e2e.waitUntilDelivered(destination)
            let stats = try await e2e.admin.stats()
            #expect(stats.callsByEndpoint["POST /jobs/ingest"] == 1)
            #expect(stats.callsByEndpoint["PATCH /composite/sobjects/Contact/\(Self.keyField)"] == nil, "no collections upsert")
            for (index, email) in emails.enumerated() {
                let ids = try await e2e.admin.recordIds(objectType: "Contact", field: Self.keyField, value: email)
                try #require(ids.count == 1, "one Contact per key: \(email)")
                if index < 10 { #expect(ids[0] == existing[index]) }
                #expect(try await e2e.admin.record(ids[0])?["LastName"] as? String == "Bulk \(email)")
                let view = try await e2e.api.expect(200, .GET, "/v1/destinations/\(destination)/records/\(email)")
                #expect(view.object["salesforceId"] as? String == ids[0], "the Id the job answered is remembered")
            }
            #expect(try await e2e.runTotals(destination)["identitiesActivated"] == 60)
        }
    }

    // MARK: Converted leads

    /// A Lead destination addressed by Salesforce Id, with `convertedLeads` as given; returns its id.
    static func leadDestination(_ e2e: EndToEnd, convertedLeads: String) async throws -> String {
        try await e2e.admin.addLongTextAreaFields(["crm_1_seg__c"], to: ["Lead", "Contact"])
        let connection = try await e2e.api.connectToEmulator(loginURL: e2e.emulator.baseURL)
        let created = try await e2e.api.expect(201, .POST, "/v1/destinations", json: [
            "name": "Leads", "connectionId": connection, "objectType": "Lead", "convertedLeads": convertedLeads,
        ])
        #expect(created.object["convertedLeads"] as? String == convertedLeads)
        let id = try #require(created.object["id"] as? String)
        try await e2e.api.configureDestination(id, mappings: ContractClient.mappings(["b2b.companyName": "Company", "person.name.firstName": "FirstName"]),
                                               segments: [["segmentId": "seg-gold", "mappingId": "crm_1_seg"]])
        return id
    }

    @Test("followContact sends a converted lead's change to its Contact, and later changes straight there")
    func followContactSendsToTheContact() async throws {
        try await EndToEnd.with(contacts: 0, leads: 0) { e2e in
            let leads = try await e2e.admin.createRecords(objectType: "Lead", records: (0..<4).map { ["LastName": "Lead \($0)", "Company": "Acme"] })
            let contactId = try await e2e.admin.convertLead(leads[1])
            let destination = try await Self.leadDestination(e2e, convertedLeads: "followContact")
            try await e2e.post(leads.map { xdmProfile(id: $0, lastName: "New \($0)", firstName: "Ada", company: "Initech") })
            try await e2e.waitUntilDelivered(destination)
            let contact = try #require(try await e2e.admin.record(contactId))
            #expect(contact["LastName"] as? String == "New \(leads[1])")
            #expect(contact["FirstName"] as? String == "Ada")
            #expect(contact["crm_1_seg__c"] as? String == "realized", "the audience field, which the Contact has too")
            #expect(try await e2e.admin.record(leads[0])?["Company"] as? String == "Initech")
            var stats = try await e2e.admin.stats()
            #expect(stats.callsByEndpoint["POST /composite/sobjects/Lead"] == 1, "one retrieve of ConvertedContactId")
            #expect(stats.callsByEndpoint["PATCH /composite/sobjects"] == 2, "the leads, then the Contact")
            let view = try await e2e.api.expect(200, .GET, "/v1/destinations/\(destination)/records/\(leads[1])")
            #expect(view.object["salesforceId"] as? String == contactId)
            #expect(view.object["salesforceObject"] as? String == "Contact")
            #expect(try await e2e.runTotals(destination)["identitiesFailed"] == 0)

            // The profile's next change goes to the Contact directly: no refusal, no retrieve.
            try await e2e.post([xdmProfile(id: leads[1], lastName: "Later", firstName: "Ada", company: "Initech")])
            try await e2e.waitUntilDelivered(destination)
            stats = try await e2e.admin.stats()
            #expect(stats.callsByEndpoint["POST /composite/sobjects/Lead"] == 1)
            #expect(stats.callsByEndpoint["PATCH /composite/sobjects"] == 3)
            #expect(try await e2e.admin.record(contactId)?["LastName"] as? String == "Later")
        }
    }

    @Test("a converted lead whose Contact is gone fails with CONVERTED_CONTACT_MISSING; report keeps Salesforce's code")
    func convertedLeadWithoutContact() async throws {
        try await EndToEnd.with(contacts: 0, leads: 0) { e2e in
            let leads = try await e2e.admin.createRecords(objectType: "Lead", records: (0..<2).map { ["LastName": "Lead \($0)", "Company": "Acme"] })
            let contactId = try await e2e.admin.convertLead(leads[0])
            try await e2e.admin.deleteRecord(contactId)
            let follow = try await Self.leadDestination(e2e, convertedLeads: "followContact")
            try await e2e.post(leads.map { xdmProfile(id: $0, lastName: "New", company: "Initech") })
            try await e2e.waitUntilDelivered(follow)
            let failures = try await e2e.api.expect(200, .GET, "/v1/destinations/\(follow)/failures").object["groups"] as? [[String: Any]] ?? []
            let missing = try #require(failures.first { $0["code"] as? String == "CONVERTED_CONTACT_MISSING" })
            #expect(missing["sampleRecordIds"] as? [String] == [leads[0]])
            #expect((missing["message"] as? String)?.contains(contactId) == true)
        }
        try await EndToEnd.with(contacts: 0, leads: 0) { e2e in
            let leads = try await e2e.admin.createRecords(objectType: "Lead", records: [["LastName": "Lead", "Company": "Acme"]])
            _ = try await e2e.admin.convertLead(leads[0])
            let report = try await Self.leadDestination(e2e, convertedLeads: "report")
            try await e2e.post([xdmProfile(id: leads[0], lastName: "New", company: "Initech")])
            try await e2e.waitUntilDelivered(report)
            let failures = try await e2e.api.expect(200, .GET, "/v1/destinations/\(report)/failures").object["groups"] as? [[String: Any]] ?? []
            #expect(failures.contains { $0["code"] as? String == "CANNOT_UPDATE_CONVERTED_LEAD" })
            #expect(try await e2e.admin.stats().callsByEndpoint["POST /composite/sobjects/Lead"] == nil)
        }
    }

    @Test("destination fields operation and convertedLeads are validated")
    func destinationFieldsAreValidated() async throws {
        try await EndToEnd.with { e2e in
            let connection = try await e2e.api.connectToEmulator(loginURL: e2e.emulator.baseURL)
            let badOperation = try await e2e.api.expect(422, .POST, "/v1/destinations", json: [
                "name": "x", "connectionId": connection, "objectType": "Contact", "operation": "merge",
            ])
            #expect(badOperation.detailFields == ["operation"])
            let followOnContact = try await e2e.api.expect(422, .POST, "/v1/destinations", json: [
                "name": "x", "connectionId": connection, "objectType": "Contact", "convertedLeads": "followContact",
            ])
            #expect(followOnContact.detailFields == ["convertedLeads"])
            let plain = try await e2e.api.expect(201, .POST, "/v1/destinations", json: ["name": "x", "connectionId": connection, "objectType": "Lead"])
            #expect(plain.object["operation"] as? String == "update")
            #expect(plain.object["convertedLeads"] as? String == "report")
        }
    }
}
