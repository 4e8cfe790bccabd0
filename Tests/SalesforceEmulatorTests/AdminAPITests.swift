import Foundation
import SalesforceEmulator
import Testing

@Suite("Admin API")
struct AdminAPITests {
    @Test("stats count calls by endpoint, records written and tokens; reset keeps the API usage")
    func stats() async throws {
        try await withEmulator(contacts: 3) { org in
            let token = try await org.accessToken()
            _ = try await org.requestToken(form: org.passwordForm(password: "wrong"))
            let ids = org.emulator.seededContactIds
            _ = try await org.rest(.GET, "/sobjects/Contact/describe", token: token)
            _ = try await org.rest(.GET, "/sobjects/Contact/\(ids[0])", token: token)
            _ = try await org.rest(.GET, "/sobjects/Contact/\(ids[1])", token: token)
            _ = try await org.rest(.PATCH, "/composite/sobjects", json: ["records": [
                ["attributes": ["type": "Contact"], "id": ids[0], "Title": "A"],
                ["attributes": ["type": "Contact"], "id": ids[1], "Title": "B"],
                ["attributes": ["type": "Contact"], "id": "bad", "Title": "C"],
            ]], token: token)
            _ = try await org.rest(.GET, "/limits/", token: nil)

            let stats = try await org.admin(.GET, "/stats").object
            #expect(stats["apiCalls"] as? Int == 4)
            let byEndpoint = try #require(stats["callsByEndpoint"] as? [String: Int])
            #expect(byEndpoint == [
                "GET /sobjects/Contact/describe": 1,
                "GET /sobjects/Contact/{id}": 2,
                "PATCH /composite/sobjects": 1,
            ])
            #expect(stats["recordsWritten"] as? Int == 2)
            #expect(stats["tokensIssued"] as? Int == 1)
            #expect(stats["tokenRequests"] as? Int == 2)
            let usage = try #require(stats["apiUsage"] as? [String: Int])
            #expect(usage == ["used": 4, "max": 15000])

            #expect(try await org.admin(.POST, "/stats/reset").status == 204)
            let reset = try await org.admin(.GET, "/stats").object
            #expect(reset["apiCalls"] as? Int == 0)
            #expect((reset["callsByEndpoint"] as? [String: Int])?.isEmpty == true)
            #expect(reset["recordsWritten"] as? Int == 0)
            #expect(reset["tokenRequests"] as? Int == 0)
            #expect((reset["apiUsage"] as? [String: Int])?["used"] == 4)
        }
    }

    @Test("custom field names follow Salesforce's rules", arguments: [
        ("crm_1_seg__c", 201),
        (String(repeating: "a", count: 40) + "__c", 201),
        (String(repeating: "a", count: 41) + "__c", 400),
        ("crm_1_seg", 400),
        ("1crm__c", 400),
        ("crm__seg__c", 400),
        ("crm_seg___c", 400),
        ("crm-seg__c", 400),
        ("__c", 400),
    ])
    func fieldNames(name: String, status: Int) async throws {
        try await withEmulator { org in
            let answer = try await org.admin(.POST, "/fields", json: ["type": "Contact", "name": name, "fieldType": "textarea"])
            #expect(answer.status == status, "\(name)")
            if status != 201 {
                #expect(answer.object["message"] is String)
            }
        }
    }

    @Test("custom field requests are checked: duplicates, lengths, types, objects")
    func fieldValidation() async throws {
        try await withEmulator { org in
            let field: [String: Any] = ["type": "Lead", "name": "crm_2_seg__c", "fieldType": "textarea", "length": 4096]
            #expect(try await org.admin(.POST, "/fields", json: field).status == 201)
            #expect(try await org.admin(.POST, "/fields", json: field).status == 409)
            #expect(try await org.admin(.POST, "/fields", json: ["type": "Lead", "name": "CRM_2_SEG__c"]).status == 409)
            #expect(try await org.admin(.POST, "/fields", json: ["type": "Lead", "name": "a__c", "length": 255]).status == 400)
            #expect(try await org.admin(.POST, "/fields", json: ["type": "Lead", "name": "b__c", "length": 131_073]).status == 400)
            #expect(try await org.admin(.POST, "/fields", json: ["type": "Lead", "name": "c__c", "fieldType": "currency"]).status == 400)
            #expect(try await org.admin(.POST, "/fields", json: ["type": "Widget", "name": "d__c"]).status == 400)
            #expect(try await org.admin(.POST, "/fields", json: ["type": "Lead", "name": "e__c", "colour": "red"]).status == 400)
            let flag = try await org.admin(.POST, "/fields", json: ["type": "Lead", "name": "opted_in__c", "fieldType": "boolean"])
            #expect(flag.object["type"] as? String == "boolean")
        }
    }

    @Test("records: seed by list or count, read with every field, delete, convert")
    func records() async throws {
        try await withEmulator { org in
            let ids = try await org.seed("Contact", [["LastName": "Liskov", "FirstName": "Barbara"], ["LastName": "Allen"]])
            #expect(ids.count == 2)
            let record = try await org.record(ids[0])
            #expect((record["attributes"] as? [String: Any])?["type"] as? String == "Contact")
            #expect(record["Id"] as? String == ids[0])
            #expect(record["Name"] as? String == "Barbara Liskov")
            #expect(record["Email"] is NSNull)
            #expect(record.keys.contains("AccountId"))
            #expect(try await org.admin(.GET, "/records/003000000000000").status == 404)
            #expect(try await org.admin(.POST, "/records", json: ["type": "Contact", "records": [["Nope__c": 1]]]).status == 400)

            #expect(try await org.admin(.DELETE, "/records/\(ids[1])").status == 204)
            #expect(try await org.record(ids[1])["IsDeleted"] as? Bool == true)

            let leads = try await org.seed("Lead", [["LastName": "Perlman", "Company": "DEC", "Email": "radia@example.com"]])
            let converted = try await org.admin(.POST, "/records/\(leads[0])/convert")
            #expect(converted.status == 200)
            let contactId = try #require(converted.object["contactId"] as? String)
            #expect(contactId.hasPrefix("003"))
            let lead = try await org.record(leads[0])
            #expect(lead["IsConverted"] as? Bool == true)
            #expect(lead["ConvertedContactId"] as? String == contactId)
            #expect(try await org.record(contactId)["Email"] as? String == "radia@example.com")
            #expect(try await org.admin(.POST, "/records/\(leads[0])/convert").status == 409)
            #expect(try await org.admin(.POST, "/records/\(contactId)/convert").status == 400)
        }
    }

    @Test("100,000 records seeded by count in a few calls all get distinct Ids and can be updated")
    func bulkSeed() async throws {
        try await withEmulator { org in
            var ids: [String] = []
            for _ in 0..<4 {
                let answer = try await org.admin(.POST, "/records", json: ["type": "Contact", "count": 25_000])
                #expect(answer.status == 201)
                ids += answer.object["ids"] as? [String] ?? []
            }
            #expect(ids.count == 100_000)
            #expect(Set(ids).count == 100_000)
            let token = try await org.accessToken()
            let update = try await org.rest(.PATCH, "/composite/sobjects", json: ["records": ids.suffix(200).map {
                ["attributes": ["type": "Contact"], "id": $0, "Title": "Bulk"]
            }], token: token)
            #expect(update.array.count == 200)
            #expect(update.array.allSatisfy { $0["success"] as? Bool == true })
        }
    }

    @Test("a scoped emulator seeds contacts and leads, refuses a taken port, and frees its port at the end")
    func lifecycle() async throws {
        var port = 0
        try await withEmulator(contacts: 5, leads: 3) { org in
            port = org.emulator.port
            #expect(org.emulator.seededContactIds.count == 5)
            #expect(org.emulator.seededLeadIds.count == 3)
            #expect(org.emulator.seededLeadIds.allSatisfy { $0.hasPrefix("00Q") && $0.count == 18 })
            #expect(org.emulator.baseURL == "http://127.0.0.1:\(org.emulator.port)")
            let lead = try await org.record(org.emulator.seededLeadIds[0])
            #expect(lead["Company"] is String)
            // The port is taken: start fails instead of hanging.
            await #expect(throws: (any Error).self) {
                try await SalesforceEmulator.with(EmulatorConfiguration(port: org.emulator.port)) { _ in }
            }
        }
        // The scope ended: the server stopped and its port can be bound again.
        let again = try await SalesforceEmulator.with(EmulatorConfiguration(port: port)) { emulator in emulator.port }
        #expect(again == port)
    }
}
