import Foundation
import Testing

@Suite("Bulk API 2.0 ingest: per-record checks and writes")
struct BulkIngestRecordTests {
    @Test("failed rows carry Salesforce's code as CODE:message:fields --, good rows land")
    func failedRows() async throws {
        try await withEmulator(contacts: 6) { org in
            let token = try await org.accessToken()
            let ids = org.emulator.seededContactIds
            _ = try await org.admin(.POST, "/fields", json: ["type": "Contact", "name": "Badge__c", "fieldType": "string", "length": 20, "unique": true])
            _ = try await org.admin(.POST, "/fields", json: ["type": "Contact", "name": "Vip__c", "fieldType": "boolean"])
            let update = try await org.rest(.PATCH, "/composite/sobjects", json: ["records": [
                ["attributes": ["type": "Contact"], "id": ids[5], "Badge__c": "B-1"],
            ]], token: token)
            #expect(update.array.first?["success"] as? Bool == true)
            let long = String(repeating: "x", count: 81)
            let csv = """
            Id,LastName,Email,Badge__c,Vip__c
            \(ids[0]),Lovelace,ada@example.com,,true
            \(ids[1]),\(long),,,
            001000000000000AAA,Wrong,,,
            \(ids[2]),#N/A,,,
            \(ids[3]),,not-an-email,,
            \(ids[4]),,,B-1,
            \(ids[4]),,,,maybe

            """
            let (id, info) = try await org.runJob("Contact", "update", csv: csv, token: token)
            #expect(info["state"] as? String == "JobComplete")
            #expect(info["numberRecordsProcessed"] as? Int == 7)
            #expect(info["numberRecordsFailed"] as? Int == 6)
            let failed = try await org.results(id, "failedResults", token: token).rows
            var byCode: [String: [String: String]] = [:]
            for row in failed {
                let code = String((row["sf__Error"] ?? "").prefix { $0 != ":" })
                byCode[code] = row
            }
            #expect(Set(byCode.keys) == [
                "STRING_TOO_LONG", "MALFORMED_ID", "REQUIRED_FIELD_MISSING", "INVALID_EMAIL_ADDRESS", "DUPLICATE_VALUE",
                "INVALID_TYPE_ON_FIELD_IN_RECORD",
            ])
            #expect(byCode["REQUIRED_FIELD_MISSING"]?["sf__Error"] == "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --")
            #expect(byCode["REQUIRED_FIELD_MISSING"]?["sf__Id"] == ids[2])
            #expect(byCode["STRING_TOO_LONG"]?["LastName"] == long)
            #expect(byCode["MALFORMED_ID"]?["sf__Id"] == "")
            #expect(byCode["DUPLICATE_VALUE"]?["sf__Error"]?.contains(ids[5]) == true)
            let successful = try await org.results(id, "successfulResults", token: token).rows
            #expect(successful.map { $0["sf__Id"] } == [ids[0]])
            let ada = try await org.record(ids[0])
            #expect(ada["LastName"] as? String == "Lovelace")
            #expect(ada["Vip__c"] as? Bool == true)
            #expect(try await org.record(ids[1])["LastName"] as? String != long)
        }
    }

    @Test("insert creates records and reports REQUIRED_FIELD_MISSING per row; an Id column with a value is refused")
    func insert() async throws {
        try await withEmulator(contacts: 1) { org in
            let token = try await org.accessToken()
            let csv = "FirstName,LastName,Id\nAda,Lovelace,\nNo,,\nGrace,Hopper,\(org.emulator.seededContactIds[0])\n"
            let (id, info) = try await org.runJob("Contact", "insert", csv: csv, token: token)
            #expect(info["numberRecordsFailed"] as? Int == 2)
            let successful = try await org.results(id, "successfulResults", token: token).rows
            let newId = try #require(successful.first?["sf__Id"])
            #expect(successful.count == 1)
            #expect(successful.first?["sf__Created"] == "true")
            #expect(newId.hasPrefix("003"))
            #expect(try await org.record(newId)["Name"] as? String == "Ada Lovelace")
            let codes = try await org.results(id, "failedResults", token: token).rows.map { String(($0["sf__Error"] ?? "").prefix { $0 != ":" }) }
            #expect(codes.sorted() == ["INVALID_FIELD_FOR_INSERT_UPDATE", "REQUIRED_FIELD_MISSING"])
        }
    }

    @Test("upsert by an external Id creates the new, updates the known, refuses an ambiguous key")
    func upsert() async throws {
        try await withEmulator { org in
            let token = try await org.accessToken()
            _ = try await org.admin(.POST, "/fields", json: ["type": "Contact", "name": "Ext__c", "fieldType": "string", "length": 40, "externalId": true])
            let known = try await org.seed("Contact", [["LastName": "Known", "Ext__c": "k-1"]])
            let twins = try await org.seed("Contact", [["LastName": "Twin A", "Ext__c": "dup"], ["LastName": "Twin B", "Ext__c": "DUP"]])
            let csv = "Ext__c,LastName,Title\nk-1,,Updated\nn-1,Newcomer,Fresh\ndup,,X\n,Keyless,Y\n"
            let (id, info) = try await org.runJob("Contact", "upsert", csv: csv, token: token, extra: ["externalIdFieldName": "Ext__c"])
            #expect(info["externalIdFieldName"] as? String == "Ext__c")
            #expect(info["numberRecordsFailed"] as? Int == 2)
            let successful = try await org.results(id, "successfulResults", token: token).rows
            let byKey = Dictionary(uniqueKeysWithValues: successful.map { ($0["Ext__c"] ?? "", $0) })
            #expect(byKey["k-1"]?["sf__Id"] == known[0])
            #expect(byKey["k-1"]?["sf__Created"] == "false")
            #expect(byKey["n-1"]?["sf__Created"] == "true")
            let knownRecord = try await org.record(known[0])
            #expect(knownRecord["Title"] as? String == "Updated")
            #expect(knownRecord["LastName"] as? String == "Known")
            let newId = try #require(byKey["n-1"]?["sf__Id"])
            #expect(try await org.record(newId)["Ext__c"] as? String == "n-1")
            let failed = try await org.results(id, "failedResults", token: token).rows
            let duplicate = try #require(failed.first { $0["Ext__c"] == "dup" })
            #expect(duplicate["sf__Error"]?.hasPrefix("DUPLICATE_EXTERNAL_ID:") == true)
            #expect(twins.allSatisfy { duplicate["sf__Error"]?.contains($0) == true })
            #expect(failed.first { $0["LastName"] == "Keyless" }?["sf__Error"]?.hasPrefix("MISSING_ARGUMENT:") == true)
        }
    }

    @Test("an empty cell leaves a field as it was, #N/A clears it")
    func emptyCellAndNull() async throws {
        try await withEmulator { org in
            let token = try await org.accessToken()
            let ids = try await org.seed("Contact", [["LastName": "Keep", "Title": "Old title", "Email": "keep@example.com", "Phone": "123"]])
            let csv = "Id,Title,Email,Phone\n\(ids[0]),,#N/A,456\n"
            let (_, info) = try await org.runJob("Contact", "update", csv: csv, token: token)
            #expect(info["numberRecordsFailed"] as? Int == 0)
            let record = try await org.record(ids[0])
            #expect(record["Title"] as? String == "Old title")
            #expect(record["Email"] is NSNull)
            #expect(record["Phone"] as? String == "456")
        }
    }

    @Test("quoted cells keep commas, quotes, newlines and unicode; other delimiters and CRLF are read")
    func quoting() async throws {
        try await withEmulator(contacts: 3) { org in
            let token = try await org.accessToken()
            let ids = org.emulator.seededContactIds
            let csv = "Id,Title,FirstName\n\(ids[0]),\"Director, Marketing\",\"Ada \"\"Countess\"\"\"\n\(ids[1]),\"two\nlines\",Ðurđa 名\n"
            let (id, info) = try await org.runJob("Contact", "update", csv: csv, token: token)
            #expect(info["numberRecordsFailed"] as? Int == 0)
            #expect(try await org.record(ids[0])["Title"] as? String == "Director, Marketing")
            #expect(try await org.record(ids[0])["FirstName"] as? String == "Ada \"Countess\"")
            #expect(try await org.record(ids[1])["Title"] as? String == "two\nlines")
            #expect(try await org.record(ids[1])["FirstName"] as? String == "Ðurđa 名")
            let titles = try await org.results(id, "successfulResults", token: token).rows.compactMap { $0["Title"] }
            #expect(Set(titles) == ["Director, Marketing", "two\nlines"])

            let piped = "Id|Title\r\n\(ids[2])|\"a|b, c\"\r\n"
            let (pipedId, pipedInfo) = try await org.runJob(
                "Contact", "update", csv: piped, token: token, extra: ["columnDelimiter": "PIPE", "lineEnding": "CRLF"]
            )
            #expect(pipedInfo["numberRecordsFailed"] as? Int == 0)
            #expect(try await org.record(ids[2])["Title"] as? String == "a|b, c")
            let raw = try await org.rest(.GET, "/jobs/ingest/\(pipedId)/successfulResults/", token: token)
            #expect(String(decoding: raw.body, as: UTF8.self) == "\"sf__Id\"|\"sf__Created\"|\"Id\"|\"Title\"\r\n\"\(ids[2])\"|\"false\"|\"\(ids[2])\"|\"a|b, c\"\r\n")
        }
    }

    @Test("a header naming no field fails the job with InvalidBatch; its rows are unprocessed")
    func unknownColumn() async throws {
        try await withEmulator(contacts: 1) { org in
            let token = try await org.accessToken()
            let csv = "Id,Nope__c\n\(org.emulator.seededContactIds[0]),x\n"
            let (id, info) = try await org.runJob("Contact", "update", csv: csv, token: token)
            #expect(info["state"] as? String == "Failed")
            #expect(info["errorMessage"] as? String == "InvalidBatch : Field name not found : Nope__c")
            #expect(info["numberRecordsProcessed"] as? Int == 0)
            #expect(try await org.results(id, "unprocessedrecords", token: token).rows.count == 1)
            let broken = try await org.runJob("Contact", "update", csv: "Id,Title\n\"unclosed,x\n", token: token)
            #expect(broken.info["state"] as? String == "Failed")
            #expect((broken.info["errorMessage"] as? String)?.hasPrefix("InvalidBatch : ") == true)
        }
    }
}
