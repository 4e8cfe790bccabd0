import Foundation
import Testing

@Suite("sObject Collections upsert: duplicates and describe")
struct UpsertDuplicateTests {
    @Test("two records sharing an external Id value fail the upsert with DUPLICATE_EXTERNAL_ID naming both")
    func duplicateExternalId() async throws {
        try await withEmulator { org in
            let token = try await org.accessToken()
            #expect(try await org.admin(.POST, "/fields", json: [
                "type": "Contact", "name": "Key__c", "fieldType": "string", "length": 64, "externalId": true,
            ]).status == 201)
            let twins = try await org.seed("Contact", [["LastName": "A", "Key__c": "k-1"], ["LastName": "B", "Key__c": "K-1"]])
            let answer = try await org.rest(.PATCH, "/composite/sobjects/Contact/Key__c", json: ["records": [
                ["attributes": ["type": "Contact"], "Key__c": "k-1", "LastName": "C"],
            ]], token: token)
            #expect(answer.status == 200)
            let result = try #require(answer.array.first)
            let error = try #require(firstError(result))
            #expect(error.statusCode == "DUPLICATE_EXTERNAL_ID")
            #expect(error.fields == ["Key__c"])
            for twin in twins { #expect(error.message.contains(twin)) }
            #expect(try await org.record(twins[0])["LastName"] as? String == "A", "neither twin was written")

            let describe = try await org.rest(.GET, "/sobjects/Contact/describe", token: token)
            let fields = try #require(describe.object["fields"] as? [[String: Any]])
            #expect(fields.first { $0["name"] as? String == "Key__c" }?["idLookup"] as? Bool == true)
            #expect(fields.first { $0["name"] as? String == "Id" }?["idLookup"] as? Bool == true)
            #expect(fields.first { $0["name"] as? String == "LastName" }?["idLookup"] as? Bool == false)
        }
    }
}
