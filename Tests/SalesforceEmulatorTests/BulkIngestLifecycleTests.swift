import Foundation
import Testing

@Suite("Bulk API 2.0 ingest: jobs, states and results")
struct BulkIngestLifecycleTests {
    @Test("a job goes Open, UploadComplete, JobComplete; JobInfo has Salesforce's fields; calls are counted per route")
    func lifecycle() async throws {
        try await withEmulator(contacts: 3) { org in
            let token = try await org.accessToken()
            let ids = org.emulator.seededContactIds
            // create
            let created = try await org.createJob("contact", "update", token: token)
            let id = try #require(created["id"] as? String)
            #expect(id.count == 18)
            #expect(id.hasPrefix("750"))
            #expect(created["state"] as? String == "Open")
            #expect(created["object"] as? String == "Contact")
            #expect(created["operation"] as? String == "update")
            #expect(created["concurrencyMode"] as? String == "Parallel")
            #expect(created["contentType"] as? String == "CSV")
            #expect(created["lineEnding"] as? String == "LF")
            #expect(created["columnDelimiter"] as? String == "COMMA")
            #expect(created["apiVersion"] as? Double == 66.0)
            #expect(created["contentUrl"] as? String == "services/data/v66.0/jobs/ingest/\(id)/batches")
            #expect((created["createdById"] as? String)?.hasPrefix("005") == true)
            #expect((created["createdDate"] as? String)?.hasSuffix("+0000") == true)
            #expect(created["systemModstamp"] is String)
            #expect(created["externalIdFieldName"] == nil)

            // upload, close
            let csv = "Id,Title\n\(ids[0]),Engineer\n\(ids[1]),Poet\n"
            #expect(try await org.restRaw(.PUT, "/jobs/ingest/\(id)/batches", body: csv, token: token).status == 201)
            let open = try await org.rest(.GET, "/jobs/ingest/\(id)", token: token).object
            #expect(open["state"] as? String == "Open")
            #expect(open["numberRecordsProcessed"] as? Int == 0)
            let closed = try await org.rest(.PATCH, "/jobs/ingest/\(id)", json: ["state": "UploadComplete"], token: token)
            #expect(closed.status == 200)
            #expect(closed.object["state"] as? String == "UploadComplete")
            #expect(closed.object["contentUrl"] == nil)

            // A closed job takes no more data, and cannot be closed twice.
            let late = try await org.restRaw(.PUT, "/jobs/ingest/\(id)/batches", body: csv, token: token)
            #expect(late.status == 409)
            #expect(late.errorCode == "INVALIDJOBSTATE")

            let done = try await org.waitForJob(id, token: token)
            #expect(done["state"] as? String == "JobComplete")
            #expect(done["numberRecordsProcessed"] as? Int == 2)
            #expect(done["numberRecordsFailed"] as? Int == 0)
            #expect(done["retries"] as? Int == 0)
            #expect(done["totalProcessingTime"] is Int)
            #expect(done["jobType"] as? String == "V2Ingest")
            #expect(done["errorMessage"] == nil)
            let again = try await org.rest(.PATCH, "/jobs/ingest/\(id)", json: ["state": "UploadComplete"], token: token)
            #expect(again.status == 409)

            #expect(try await org.record(ids[0])["Title"] as? String == "Engineer")
            #expect(try await org.record(ids[1])["Title"] as? String == "Poet")
            #expect(try await org.record(ids[2])["Title"] as? String != "Poet")

            let successful = try await org.results(id, "successfulResults", token: token)
            #expect(successful.header == ["sf__Id", "sf__Created", "Id", "Title"])
            #expect(Set(successful.rows.map { $0["sf__Id"] ?? "" }) == [ids[0], ids[1]])
            #expect(successful.rows.allSatisfy { $0["sf__Created"] == "false" && $0["sf__Id"] == $0["Id"] })
            let failed = try await org.results(id, "failedResults", token: token)
            #expect(failed.header == ["sf__Id", "sf__Error", "Id", "Title"])
            #expect(failed.rows.isEmpty)
            #expect(try await org.results(id, "unprocessedrecords", token: token).rows.isEmpty)

            // The listing has it; deleting it makes it gone.
            let listing = try await org.rest(.GET, "/jobs/ingest", token: token).object
            let records = try #require(listing["records"] as? [[String: Any]])
            #expect(records.compactMap { $0["id"] as? String } == [id])
            #expect(listing["done"] as? Bool == true)
            #expect(try await org.rest(.DELETE, "/jobs/ingest/\(id)", token: token).status == 204)
            #expect(try await org.rest(.GET, "/jobs/ingest/\(id)", token: token).status == 404)

            let stats = try await org.admin(.GET, "/stats").object
            let calls = try #require(stats["callsByEndpoint"] as? [String: Int])
            #expect(calls["POST /jobs/ingest"] == 1)
            #expect(calls["PUT /jobs/ingest/{id}/batches"] == 2)
            #expect(calls["PATCH /jobs/ingest/{id}"] == 2)
            #expect(calls["GET /jobs/ingest/{id}/successfulResults"] == 1)
            #expect(calls["DELETE /jobs/ingest/{id}"] == 1)
            #expect(stats["recordsWritten"] as? Int == 2)
        }
    }

    @Test("an open job cannot be deleted; a job id that names nothing is 404; methods are checked")
    func refusals() async throws {
        try await withEmulator { org in
            let token = try await org.accessToken()
            let id = try #require(try await org.createJob("Contact", "insert", token: token)["id"] as? String)
            let delete = try await org.rest(.DELETE, "/jobs/ingest/\(id)", token: token)
            #expect(delete.status == 409)
            #expect(delete.errorCode == "INVALIDJOBSTATE")
            #expect(try await org.rest(.GET, "/jobs/ingest/750000000000000AAA", token: token).status == 404)
            #expect(try await org.rest(.GET, "/jobs/ingest/not-a-job", token: token).status == 404)
            #expect(try await org.rest(.POST, "/jobs/ingest/\(id)", json: [:], token: token).status == 405)
            let badState = try await org.rest(.PATCH, "/jobs/ingest/\(id)", json: ["state": "JobComplete"], token: token)
            #expect(badState.status == 409)
            // Without a token nothing is served.
            #expect(try await org.rest(.GET, "/jobs/ingest/\(id)", token: nil).status == 401)
        }
    }

    @Test("create validates object, operation, upsert field, content type, delimiter and line ending")
    func createValidation() async throws {
        try await withEmulator { org in
            let token = try await org.accessToken()
            _ = try await org.admin(.POST, "/fields", json: ["type": "Contact", "name": "Ext__c", "fieldType": "string", "length": 40, "externalId": true])
            _ = try await org.admin(.POST, "/fields", json: ["type": "Contact", "name": "Plain__c", "fieldType": "string", "length": 40])
            func create(_ body: [String: Any]) async throws -> HTTPAnswer {
                try await org.rest(.POST, "/jobs/ingest", json: body, token: token)
            }
            let cases: [([String: Any], String, String)] = [
                (["object": "Nope__c", "operation": "insert"], "INVALIDJOB", "Unable to find object: Nope__c"),
                (["operation": "insert"], "INVALIDJOB", "Object is required"),
                (["object": "Contact", "operation": "delete"], "INVALIDJOB", "does not implement 'delete'"),
                (["object": "Contact", "operation": "merge"], "JSON_PARSER_ERROR", "OperationEnum"),
                (["object": "Contact", "operation": "upsert"], "INVALIDJOB", "External ID was blank for Contact"),
                (["object": "Contact", "operation": "upsert", "externalIdFieldName": "Plain__c"], "INVALIDJOB", "Plain__c does not match an External ID"),
                (["object": "Contact", "operation": "upsert", "externalIdFieldName": "Missing__c"], "INVALIDJOB", "Missing__c does not match"),
                (["object": "Contact", "operation": "insert", "contentType": "JSON"], "INVALIDJOB", "CSV only"),
                (["object": "Contact", "operation": "insert", "columnDelimiter": "COLON"], "JSON_PARSER_ERROR", "ColumnDelimiterEnum"),
                (["object": "Contact", "operation": "insert", "lineEnding": "CR"], "JSON_PARSER_ERROR", "LineEndingEnum"),
            ]
            for (body, code, message) in cases {
                let answer = try await create(body)
                #expect(answer.status == 400, "\(body)")
                #expect(answer.errorCode == code, "\(body)")
                let text = answer.array.first?["message"] as? String ?? ""
                #expect(text.contains(message), "\(body): \(text)")
            }
            let upsert = try await create(["object": "Contact", "operation": "upsert", "externalIdFieldName": "ext__C", "columnDelimiter": "PIPE", "lineEnding": "CRLF"])
            #expect(upsert.status == 200)
            #expect(upsert.object["externalIdFieldName"] as? String == "Ext__c")
            #expect(upsert.object["columnDelimiter"] as? String == "PIPE")
            #expect(upsert.object["lineEnding"] as? String == "CRLF")
        }
    }

    @Test("results row order is shuffled (seeded: two reads agree), every row still there")
    func shuffledResults() async throws {
        try await withEmulator(contacts: 60) { org in
            let token = try await org.accessToken()
            let ids = org.emulator.seededContactIds
            let csv = "Id,Title\n" + ids.enumerated().map { "\($1),T\($0)" }.joined(separator: "\n") + "\n"
            let (id, info) = try await org.runJob("Contact", "update", csv: csv, token: token)
            #expect(info["numberRecordsProcessed"] as? Int == 60)
            let first = try await org.results(id, "successfulResults", token: token).rows.compactMap { $0["Id"] }
            let second = try await org.results(id, "successfulResults", token: token).rows.compactMap { $0["Id"] }
            #expect(Set(first) == Set(ids))
            #expect(first.count == ids.count)
            #expect(first != ids)
            #expect(first == second)
        }
    }
}
