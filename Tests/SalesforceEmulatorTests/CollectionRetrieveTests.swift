import Foundation
import Testing

@Suite("sObject Collections retrieve")
struct CollectionRetrieveTests {
    @Test("POST and GET answer the asked fields in request order, null for missing or deleted records")
    func retrieveInOrder() async throws {
        try await withEmulator { org in
            let token = try await org.accessToken()
            let leads = try await org.seed("Lead", (0..<3).map { ["LastName": "Lead \($0)", "Company": "Acme"] })
            let converted = try await org.admin(.POST, "/records/\(leads[1])/convert")
            let contactId = try #require(converted.object["contactId"] as? String)
            #expect(try await org.admin(.DELETE, "/records/\(leads[2])").status == 204)
            let posted = try await org.rest(.POST, "/composite/sobjects/Lead", json: [
                "ids": [leads[1], leads[0], leads[2], String(leads[0].prefix(15))], "fields": ["ConvertedContactId", "IsConverted"],
            ], token: token)
            #expect(posted.status == 200)
            let records = try #require(posted.json as? [Any])
            try #require(records.count == 4)
            let first = try #require(records[0] as? [String: Any])
            #expect(first["ConvertedContactId"] as? String == contactId)
            #expect(first["IsConverted"] as? Bool == true)
            #expect((first["attributes"] as? [String: Any])?["type"] as? String == "Lead")
            #expect(first["LastName"] == nil, "only the asked fields")
            let second = try #require(records[1] as? [String: Any])
            #expect(second["ConvertedContactId"] is NSNull)
            #expect(records[2] is NSNull, "a deleted record")
            #expect(records[3] is [String: Any], "a 15-character Id finds the record")

            let got = try await org.rest(.GET, "/composite/sobjects/Lead?ids=\(leads[0]),\(leads[1])&fields=Company", token: token)
            #expect(got.status == 200)
            let gotRecords = try #require(got.json as? [[String: Any]])
            #expect(gotRecords.map { $0["Company"] as? String } == ["Acme", "Acme"])
        }
    }

    @Test("a retrieve refuses unknown fields, Ids of another object and more than 2,000 Ids")
    func retrieveRefusals() async throws {
        try await withEmulator(contacts: 1) { org in
            let token = try await org.accessToken()
            let leads = try await org.seed("Lead", [["LastName": "L", "Company": "C"]])
            let unknownField = try await org.rest(.POST, "/composite/sobjects/Lead", json: ["ids": leads, "fields": ["Nope__c"]], token: token)
            #expect(unknownField.status == 400)
            #expect(unknownField.array.first?["errorCode"] as? String == "INVALID_FIELD")
            let contacts = try await org.admin(.GET, "/records?type=Contact")
            let contactIds = try #require(contacts.object["ids"] as? [String])
            let wrongObject = try await org.rest(.POST, "/composite/sobjects/Lead", json: ["ids": contactIds, "fields": ["Company"]], token: token)
            #expect(wrongObject.status == 400)
            #expect(wrongObject.array.first?["errorCode"] as? String == "MALFORMED_ID")
            let tooMany = try await org.rest(.POST, "/composite/sobjects/Lead", json: [
                "ids": Array(repeating: leads[0], count: 2_001), "fields": ["Company"],
            ], token: token)
            #expect(tooMany.status == 400)
            #expect(tooMany.array.first?["errorCode"] as? String == "EXCEEDED_ID_LIMIT")
            #expect(try await org.rest(.POST, "/composite/sobjects/Lead", json: ["ids": leads, "fields": ["Company"]], token: nil).status == 401)
        }
    }
}
