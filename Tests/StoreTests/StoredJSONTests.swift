import Activation
import Foundation
import Testing
@testable import Store

@Suite("The store's JSON rows")
struct StoredJSONTests {
    @Test func fieldsRoundTripWithEveryKindOfTextAndNumber() {
        let fields: [String: FieldValue] = [
            "quote": .string("say \"hi\" \\ back"), "lines": .string("seg-a:realized\nseg-b:exited\r\t"),
            "control": .string("bell\u{07}nul\u{00}"), "unicode": .string("Zoë 日本 🚀 \u{2028}"),
            "int": .integer(-9_007_199_254_740_993), "double": .double(4.25), "whole": .double(2), "flag": .bool(false), "nothing": .null,
        ]
        let text = StoredJSON.encodeFields(fields)
        #expect(StoredJSON.decodeFields(text) == fields)
        #expect((try? JSONSerialization.jsonObject(with: Data(text.utf8))) != nil, "not valid JSON: \(text)")
    }

    @Test func profilesAndPendingRecordsRoundTrip() {
        let profile = Profile(
            identities: ["crmID": ["003xx000004TmiQAAS"], "e\"mail": ["a@b.c", "d@e.f"]],
            attributes: ["person.name.lastName": .string("Lovelace"), "loyalty.points": .integer(12)],
            memberships: ["seg-gold": AudienceMembership(status: .existing, lastQualificationTime: 1_795_168_800_123)]
        )
        #expect(StoredJSON.decodeProfile(StoredJSON.encodeProfile(profile)) == profile)
        let pending = PendingRecord(
            fields: ["LastName": .string("B")], inFlight: ["LastName": .string("A"), "Email": .null],
            waiting: [1_795_168_800_000: 2], inFlightWaiting: [1_795_165_200_000: 1]
        )
        #expect(StoredJSON.decodePending(StoredJSON.encodePending(pending)) == pending)
        #expect(StoredJSON.decodePending(StoredJSON.encodePending(PendingRecord(fields: ["A": .bool(true)]))) == PendingRecord(fields: ["A": .bool(true)]))
    }
}
