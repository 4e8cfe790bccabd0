import SalesforceAPI
import Testing

@Suite("Live: sObject Collections retrieve")
struct LiveRetrieveTests {
    @Test("retrieveRecords answers each Id's fields in order, nil where the record is gone")
    func retrieveInOrder() async throws {
        try await LiveOrg.with(contacts: 0, leads: 3) { org in
            let leads = org.emulator.seededLeadIds
            let converted = try await org.admin.convertLead(leads[0])
            try await org.admin.deleteRecord(leads[2])
            let client = try org.client()
            let records = try await client.retrieveRecords(objectType: "Lead", ids: [leads[2], leads[0], leads[1]], fields: ["ConvertedContactId", "IsConverted"])
            #expect(records.count == 3)
            #expect(records[0] == nil)
            #expect(records[1]?["ConvertedContactId"] == .string(converted))
            #expect(records[1]?["IsConverted"] == .bool(true))
            #expect(records[2]?["ConvertedContactId"] == .null)
            #expect(try await org.admin.stats().callsByEndpoint["POST /composite/sobjects/Lead"] == 1)
        }
    }

    @Test("more than 2,000 Ids or a bad name fail before anything is sent")
    func refusedBeforeSending() async throws {
        try await LiveOrg.with(contacts: 0, leads: 1) { org in
            let client = try org.client()
            let tooMany = await salesforceError { try await client.retrieveRecords(objectType: "Lead", ids: Array(repeating: org.emulator.seededLeadIds[0], count: 2_001), fields: ["Id"]) }
            #expect(tooMany?.code == "EXCEEDED_ID_LIMIT")
            let badName = await salesforceError { try await client.retrieveRecords(objectType: "Lead", ids: org.emulator.seededLeadIds, fields: ["Id;DROP"]) }
            #expect(badName?.code == "INVALID_NAME")
            #expect(try await org.admin.stats().apiCalls == 0)
        }
    }
}
