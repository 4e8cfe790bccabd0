import Foundation
import Testing

@Suite("sObject Collections update")
struct CollectionUpdateTests {
    private static func update(_ records: [[String: Any]], allOrNone: Bool = false) -> [String: Any] {
        ["allOrNone": allOrNone, "records": records]
    }

    private static func contact(_ id: String, _ fields: [String: Any]) -> [String: Any] {
        var record: [String: Any] = ["attributes": ["type": "Contact"], "id": id]
        record.merge(fields) { _, new in new }
        return record
    }

    @Test("updates records, accepts 15-character Ids and answers the 18-character form")
    func updatesRecords() async throws {
        try await withEmulator(contacts: 2) { org in
            let token = try await org.accessToken()
            let (first, second) = (org.emulator.seededContactIds[0], org.emulator.seededContactIds[1])
            let answer = try await org.rest(.PATCH, "/composite/sobjects", json: Self.update([
                Self.contact(first, ["LastName": "Lovelace", "FirstName": "Ada", "email": "ada@example.org"]),
                Self.contact(String(second.prefix(15)), ["Title": NSNull()]),
            ]), token: token)
            #expect(answer.status == 200)
            let results = answer.array
            #expect(results.count == 2)
            #expect(results[0]["id"] as? String == first)
            #expect(results[0]["success"] as? Bool == true)
            #expect((results[0]["errors"] as? [Any])?.isEmpty == true)
            #expect(results[1]["id"] as? String == second)
            #expect(results[1]["success"] as? Bool == true)

            let stored = try await org.record(first)
            #expect(stored["LastName"] as? String == "Lovelace")
            #expect(stored["Email"] as? String == "ada@example.org")
            #expect(stored["Name"] as? String == "Ada Lovelace")
            #expect(try await org.record(second)["Title"] is NSNull)
        }
    }

    @Test("every per-record failure has Salesforce's code, message and fields, in request order")
    func perRecordFailures() async throws {
        try await withEmulator(contacts: 10, leads: 2) { org in
            let token = try await org.accessToken()
            let ids = org.emulator.seededContactIds
            let lead = org.emulator.seededLeadIds[0]
            let convertedLead = org.emulator.seededLeadIds[1]
            #expect(try await org.admin(.DELETE, "/records/\(ids[2])").status == 204)
            #expect(try await org.admin(.POST, "/records/\(convertedLead)/convert").status == 200)
            var badChecksum = Array(ids[0])
            badChecksum[17] = badChecksum[17] == "A" ? "B" : "A"
            let absent = String(ids[0].prefix(9)) + "zzzzzz"
            let tooLong = String(repeating: "x", count: 81)

            let answer = try await org.rest(.PATCH, "/composite/sobjects", json: Self.update([
                Self.contact("003xx", ["LastName": "A"]),
                Self.contact(String(badChecksum), ["LastName": "B"]),
                Self.contact(lead, ["LastName": "C"]),
                Self.contact(absent, ["LastName": "D"]),
                Self.contact(ids[2], ["LastName": "E"]),
                Self.contact(ids[3], ["LastName": tooLong]),
                Self.contact(ids[4], ["LastName": NSNull()]),
                Self.contact(ids[5], ["LastName": ""]),
                Self.contact(ids[6], ["Email": "xyz"]),
                Self.contact(ids[7], ["Name": "Someone Else"]),
                Self.contact(ids[8], ["IsDeleted": true]),
                ["attributes": ["type": "Lead"], "id": convertedLead, "Company": "Globex"],
                Self.contact(ids[9], ["Title": "Still fine"]),
            ]), token: token)
            #expect(answer.status == 200)
            let results = answer.array
            try #require(results.count == 13)

            func expectFailure(_ index: Int, _ code: String, _ message: String, _ fields: [String], id: String?) {
                let error = firstError(results[index])
                #expect(results[index]["success"] as? Bool == false, "record \(index)")
                #expect(error?.statusCode == code, "record \(index)")
                #expect(error?.message == message, "record \(index)")
                #expect(error?.fields == fields, "record \(index)")
                #expect(results[index]["id"] as? String == id, "record \(index)")
            }
            expectFailure(0, "MALFORMED_ID", "Contact ID: id value of incorrect type: 003xx", ["Id"], id: nil)
            expectFailure(1, "MALFORMED_ID", "Contact ID: id value of incorrect type: \(String(badChecksum))", ["Id"], id: nil)
            expectFailure(2, "MALFORMED_ID", "Contact ID: id value of incorrect type: \(lead)", ["Id"], id: nil)
            let absentId = try #require(results[3]["id"] as? String)
            #expect(absentId.hasPrefix(absent))
            expectFailure(3, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [], id: absentId)
            expectFailure(4, "ENTITY_IS_DELETED", "entity is deleted", [], id: ids[2])
            expectFailure(5, "STRING_TOO_LONG", "LastName: data value too large: \(tooLong) (max length=80)", ["LastName"], id: ids[3])
            expectFailure(6, "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", ["LastName"], id: ids[4])
            expectFailure(7, "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", ["LastName"], id: ids[5])
            expectFailure(8, "INVALID_EMAIL_ADDRESS", "Email: invalid email address: xyz", ["Email"], id: ids[6])
            let readOnly = "Please check the security settings of this field and verify that it is read/write for your profile or permission set."
            expectFailure(9, "INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: Name. \(readOnly)", ["Name"], id: ids[7])
            expectFailure(10, "INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: IsDeleted. \(readOnly)", ["IsDeleted"], id: ids[8])
            expectFailure(11, "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", [], id: convertedLead)
            #expect(results[12]["success"] as? Bool == true)
            #expect(results[12]["id"] as? String == ids[9])

            // Failed records were left alone.
            #expect(try await org.record(ids[3])["LastName"] as? String != tooLong)
            #expect(try await org.record(ids[4])["LastName"] is String)
        }
    }

    @Test("a field the object lacks refuses the whole request with INVALID_FIELD")
    func invalidField() async throws {
        try await withEmulator(contacts: 2) { org in
            let token = try await org.accessToken()
            let ids = org.emulator.seededContactIds
            let answer = try await org.rest(.PATCH, "/composite/sobjects", json: Self.update([
                Self.contact(ids[0], ["LastName": "Written?"]),
                Self.contact(ids[1], ["foo__c": "x"]),
            ]), token: token)
            #expect(answer.status == 400)
            #expect(answer.errorCode == "INVALID_FIELD")
            #expect(answer.array.first?["message"] as? String == "No such column 'foo__c' on sobject of type Contact")
            #expect(answer.limitInfo != nil)
            #expect(try await org.record(ids[0])["LastName"] as? String != "Written?")

            // Field names are case-insensitive, as in Salesforce.
            let lowerCase = try await org.rest(.PATCH, "/composite/sobjects", json: Self.update([
                Self.contact(ids[0], ["lastname": "Hopper", "FIRSTNAME": "Grace"]),
            ]), token: token)
            #expect(lowerCase.array.first?["success"] as? Bool == true)
            #expect(try await org.record(ids[0])["Name"] as? String == "Grace Hopper")
        }
    }

    @Test("more than 200 records is EXCEEDED_ID_LIMIT; no records and bad JSON are refused")
    func requestShape() async throws {
        try await withEmulator(contacts: 1) { org in
            let token = try await org.accessToken()
            let id = org.emulator.seededContactIds[0]
            let tooMany = Array(repeating: Self.contact(id, ["Title": "x"]), count: 201)
            let refused = try await org.rest(.PATCH, "/composite/sobjects", json: Self.update(tooMany), token: token)
            #expect(refused.status == 400)
            #expect(refused.errorCode == "EXCEEDED_ID_LIMIT")

            let exactly200 = Array(repeating: Self.contact(id, ["Title": "y"]), count: 200)
            let accepted = try await org.rest(.PATCH, "/composite/sobjects", json: Self.update(exactly200), token: token)
            #expect(accepted.array.count == 200)

            let empty = try await org.rest(.PATCH, "/composite/sobjects", json: Self.update([]), token: token)
            #expect(empty.status == 400)
            #expect(empty.errorCode != nil)

            let malformed = try await org.send(
                .PATCH, "/services/data/v66.0/composite/sobjects",
                headers: [("Authorization", "Bearer \(token)")]
            )
            #expect(malformed.status == 400)
            #expect(malformed.errorCode == "JSON_PARSER_ERROR")
            let garbage = try await org.send(
                .PATCH, "/services/data/v66.0/composite/sobjects", form: "{not json",
                headers: [("Authorization", "Bearer \(token)")]
            )
            #expect(garbage.errorCode == "JSON_PARSER_ERROR")
        }
    }

    @Test("allOrNone rolls every record back when one fails")
    func allOrNone() async throws {
        try await withEmulator(contacts: 3) { org in
            let token = try await org.accessToken()
            let ids = org.emulator.seededContactIds
            let answer = try await org.rest(.PATCH, "/composite/sobjects", json: Self.update([
                Self.contact(ids[0], ["Title": "Rolled back"]),
                Self.contact(ids[1], ["Email": "not-an-address"]),
                Self.contact(ids[2], ["Title": "Rolled back too"]),
            ], allOrNone: true), token: token)
            let results = answer.array
            try #require(results.count == 3)
            #expect(firstError(results[0])?.statusCode == "ALL_OR_NONE_OPERATION_ROLLED_BACK")
            #expect(firstError(results[0])?.message == "Record rolled back because not all records were valid and the request was using AllOrNone header")
            #expect(firstError(results[1])?.statusCode == "INVALID_EMAIL_ADDRESS")
            #expect(firstError(results[2])?.statusCode == "ALL_OR_NONE_OPERATION_ROLLED_BACK")
            #expect(try await org.record(ids[0])["Title"] as? String != "Rolled back")
            #expect(try await org.record(ids[2])["Title"] as? String != "Rolled back too")

            let clean = try await org.rest(.PATCH, "/composite/sobjects", json: Self.update([
                Self.contact(ids[0], ["Title": "Written"]),
                Self.contact(ids[2], ["Title": "Written"]),
            ], allOrNone: true), token: token)
            #expect(clean.array.count == 2 && clean.array.allSatisfy { $0["success"] as? Bool == true }, "\(clean.array)")
            #expect(try await org.record(ids[2])["Title"] as? String == "Written")
        }
    }

    @Test("lockRowRate 1 answers UNABLE_TO_LOCK_ROW for every valid record")
    func lockRow() async throws {
        try await withEmulator(contacts: 2) { org in
            let token = try await org.accessToken()
            let ids = org.emulator.seededContactIds
            try await org.setFaults(["lockRowRate": 1.0])
            let answer = try await org.rest(.PATCH, "/composite/sobjects", json: Self.update([
                Self.contact(ids[0], ["Title": "Locked"]),
                Self.contact(ids[1], ["Email": "bad"]),
            ]), token: token)
            let results = answer.array
            #expect(firstError(results[0])?.statusCode == "UNABLE_TO_LOCK_ROW")
            #expect(firstError(results[0])?.message == "unable to obtain exclusive access to this record or 1 records: \(ids[0])")
            #expect(firstError(results[1])?.statusCode == "INVALID_EMAIL_ADDRESS")
            #expect(try await org.record(ids[0])["Title"] as? String != "Locked")

            try await org.setFaults(["lockRowRate": 0])
            let retried = try await org.rest(.PATCH, "/composite/sobjects", json: Self.update([
                Self.contact(ids[0], ["Title": "Locked"]),
            ]), token: token)
            #expect(retried.array.first?["success"] as? Bool == true)
        }
    }

    @Test("custom text fields take values up to their length")
    func customFieldWrites() async throws {
        try await withEmulator(contacts: 1) { org in
            let token = try await org.accessToken()
            let id = org.emulator.seededContactIds[0]
            _ = try await org.admin(.POST, "/fields", json: ["type": "Contact", "name": "crm_1_seg__c", "length": 256])
            let fits = String(repeating: "s", count: 256)
            let ok = try await org.rest(.PATCH, "/composite/sobjects", json: Self.update([
                Self.contact(id, ["crm_1_seg__c": fits]),
            ]), token: token)
            #expect(ok.array.first?["success"] as? Bool == true)
            #expect(try await org.record(id)["crm_1_seg__c"] as? String == fits)
            let long = try await org.rest(.PATCH, "/composite/sobjects", json: Self.update([
                Self.contact(id, ["crm_1_seg__c": fits + "s"]),
            ]), token: token)
            #expect(firstError(long.array[0])?.statusCode == "STRING_TOO_LONG")
            #expect(firstError(long.array[0])?.fields == ["crm_1_seg__c"])

            // The org lost the field: the same request now fails as a whole.
            #expect(try await org.admin(.DELETE, "/fields/Contact/crm_1_seg__c").status == 204)
            let lost = try await org.rest(.PATCH, "/composite/sobjects", json: Self.update([
                Self.contact(id, ["crm_1_seg__c": "x"]),
            ]), token: token)
            #expect(lost.errorCode == "INVALID_FIELD")
        }
    }
}
