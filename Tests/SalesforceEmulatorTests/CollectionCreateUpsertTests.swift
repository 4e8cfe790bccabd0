import Foundation
import Testing

@Suite("sObject Collections create and upsert")
struct CollectionCreateUpsertTests {
    @Test("create answers new 18-character Ids and applies the org's defaults")
    func create() async throws {
        try await withEmulator { org in
            let token = try await org.accessToken()
            let answer = try await org.rest(.POST, "/composite/sobjects", json: ["allOrNone": false, "records": [
                ["attributes": ["type": "Contact"], "LastName": "Turing", "FirstName": "Alan"],
                ["attributes": ["type": "Contact"], "FirstName": "Nameless"],
                ["attributes": ["type": "Lead"], "LastName": "Hamilton", "Company": "MIT"],
                ["attributes": ["type": "Lead"], "LastName": "NoCompany"],
            ]], token: token)
            #expect(answer.status == 200)
            let results = answer.array
            try #require(results.count == 4)
            let contactId = try #require(results[0]["id"] as? String)
            #expect(contactId.count == 18)
            #expect(contactId.hasPrefix("003"))
            #expect(results[0]["success"] as? Bool == true)
            #expect(results[0]["created"] as? Bool == true)
            #expect(firstError(results[1])?.statusCode == "REQUIRED_FIELD_MISSING")
            #expect(firstError(results[1])?.message == "Required fields are missing: [LastName]")
            let leadId = try #require(results[2]["id"] as? String)
            #expect(leadId.hasPrefix("00Q"))
            #expect(firstError(results[3])?.statusCode == "REQUIRED_FIELD_MISSING")
            #expect(firstError(results[3])?.fields == ["Company"])

            let contact = try await org.record(contactId)
            #expect(contact["Name"] as? String == "Alan Turing")
            #expect(contact["IsDeleted"] as? Bool == false)
            #expect((contact["CreatedDate"] as? String)?.hasSuffix("+0000") == true)
            let lead = try await org.record(leadId)
            #expect(lead["Status"] as? String == "Open - Not Contacted")
            #expect(lead["IsConverted"] as? Bool == false)

            // The new Id works for updates straight away.
            let update = try await org.rest(.PATCH, "/composite/sobjects", json: ["records": [
                ["attributes": ["type": "Contact"], "id": contactId, "Title": "Mathematician"],
            ]], token: token)
            #expect(update.array.first?["success"] as? Bool == true)
        }
    }

    @Test("upsert by an external Id creates, then updates the same record")
    func upsert() async throws {
        try await withEmulator { org in
            let token = try await org.accessToken()
            let field = try await org.admin(.POST, "/fields", json: [
                "type": "Contact", "name": "Profile_Id__c", "fieldType": "string", "length": 64, "externalId": true,
            ])
            #expect(field.status == 201)
            let first = try await org.rest(.PATCH, "/composite/sobjects/Contact/Profile_Id__c", json: ["records": [
                ["attributes": ["type": "Contact"], "Profile_Id__c": "p-1", "LastName": "Knuth"],
                ["attributes": ["type": "Contact"], "LastName": "No key"],
            ]], token: token)
            #expect(first.status == 200)
            let created = first.array
            let id = try #require(created[0]["id"] as? String)
            #expect(created[0]["created"] as? Bool == true)
            #expect(created[1]["success"] as? Bool == false)

            let second = try await org.rest(.PATCH, "/composite/sobjects/Contact/Profile_Id__c", json: ["records": [
                ["attributes": ["type": "Contact"], "Profile_Id__c": "P-1", "Title": "Professor"],
            ]], token: token)
            #expect(second.array.first?["id"] as? String == id)
            #expect(second.array.first?["created"] as? Bool == false)
            let stored = try await org.record(id)
            #expect(stored["Title"] as? String == "Professor")
            #expect(stored["LastName"] as? String == "Knuth")

            let notExternal = try await org.rest(.PATCH, "/composite/sobjects/Contact/Email", json: ["records": [
                ["attributes": ["type": "Contact"], "Email": "a@b.co", "LastName": "X"],
            ]], token: token)
            #expect(notExternal.status == 400)
            #expect(notExternal.errorCode == "INVALID_FIELD")
            let missingField = try await org.rest(.PATCH, "/composite/sobjects/Contact/Nope__c", json: ["records": [
                ["attributes": ["type": "Contact"], "LastName": "X"],
            ]], token: token)
            #expect(missingField.errorCode == "INVALID_FIELD")
        }
    }
}
