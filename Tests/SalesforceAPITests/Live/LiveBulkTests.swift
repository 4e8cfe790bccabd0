import Foundation
import EmulatorAdminClient
import NIOCore
import SalesforceAPI
import Testing

@Suite("Live: Bulk API 2.0 ingest against the emulator")
struct LiveBulkTests {
    /// Polls until the job is terminal (at most 60 s).
    private func finished(_ client: SalesforceClient, _ id: String) async throws -> BulkIngestJob {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let job = try await client.ingestJob(jobId: id)
            if job.state.isTerminal { return job }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw HarnessTimeout()
    }

    private struct HarnessTimeout: Error {}

    @Test("update: create, upload, close, poll, then every row correlated by Id from the three result sets")
    func update() async throws {
        try await LiveOrg.with(contacts: 4, leads: 0) { org in
            // setup
            let client = try org.client()
            let ids = org.emulator.seededContactIds
            let csv = BulkCSV.encode(columns: ["Id", "Title", "Email"], rows: [
                [.string(ids[0]), "Director, \"Ops\"", nil],
                [.string(ids[1]), "two\nlines", .null],
                [.string(ids[2]), nil, "not-an-email"],
                [.string(ids[3]), .string(String(repeating: "t", count: 129)), nil],
            ])

            // run
            let created = try await client.createIngestJob(object: "Contact", operation: .update)
            #expect(created.state == .open)
            #expect(created.object == "Contact")
            #expect(created.operation == "update")
            #expect(created.id.hasPrefix("750"))
            try await client.uploadIngestData(jobId: created.id, csv: csv)
            let closed = try await client.closeIngestJob(jobId: created.id)
            #expect(closed.state == .uploadComplete)
            let done = try await self.finished(client, created.id)
            let successful = try await client.ingestJobResults(jobId: created.id, kind: .successful, keyColumn: "Id")
            let failed = try await client.ingestJobResults(jobId: created.id, kind: .failed, keyColumn: "Id")
            let unprocessed = try await client.ingestJobResults(jobId: created.id, kind: .unprocessed, keyColumn: "Id")

            // validate
            #expect(done.state == .jobComplete)
            #expect(done.recordsProcessed == 4)
            #expect(done.recordsFailed == 2)
            #expect(done.errorMessage == nil)
            #expect(Set(successful.map(\.key)) == [ids[0], ids[1]])
            #expect(successful.allSatisfy { $0.salesforceId == $0.key && $0.created == false && $0.errorCode == nil })
            let failures = Dictionary(uniqueKeysWithValues: failed.map { ($0.key, $0) })
            #expect(failures[ids[2]]?.errorCode == "INVALID_EMAIL_ADDRESS")
            #expect(failures[ids[2]]?.errorMessage == "Email: invalid email address: not-an-email")
            #expect(failures[ids[2]]?.salesforceId == ids[2])
            #expect(failures[ids[3]]?.errorCode == "STRING_TOO_LONG")
            #expect(unprocessed.isEmpty)
            let first = try #require(try await org.admin.record(ids[0]))
            #expect(first["Title"] as? String == "Director, \"Ops\"")
            let second = try #require(try await org.admin.record(ids[1]))
            #expect(second["Title"] as? String == "two\nlines")
            #expect(second["Email"] is NSNull)
        }
    }

    @Test("upsert by an external Id: created and updated rows keyed by the external Id")
    func upsert() async throws {
        try await LiveOrg.with(contacts: 0, leads: 0) { org in
            try await org.admin.addField(objectType: "Contact", name: "Ext__c", fieldType: "string", length: 40, externalId: true)
            let known = try await org.admin.createRecords(objectType: "Contact", records: [["LastName": "Known", "Ext__c": "k-1"]])
            let client = try org.client()
            let job = try await client.createIngestJob(object: "Contact", operation: .upsert(externalIdField: "Ext__c"))
            try await client.uploadIngestData(jobId: job.id, csv: BulkCSV.encode(columns: ["Ext__c", "LastName"], rows: [
                ["k-1", nil], ["n-1", "Newcomer"], ["n-2", nil],
            ]))
            _ = try await client.closeIngestJob(jobId: job.id)
            #expect(try await self.finished(client, job.id).state == .jobComplete)
            let successful = try await client.ingestJobResults(jobId: job.id, kind: .successful, keyColumn: "Ext__c")
            let byKey = Dictionary(uniqueKeysWithValues: successful.map { ($0.key, $0) })
            #expect(byKey["k-1"]?.salesforceId == known[0])
            #expect(byKey["k-1"]?.created == false)
            #expect(byKey["n-1"]?.created == true)
            let failed = try await client.ingestJobResults(jobId: job.id, kind: .failed, keyColumn: "Ext__c")
            #expect(failed.map(\.key) == ["n-2"])
            #expect(failed.first?.errorCode == "REQUIRED_FIELD_MISSING")
            #expect(failed.first?.errorMessage == "Required fields are missing: [LastName]")
        }
    }

    @Test("abort, a failed job's unprocessed rows, a refused upload, and errors classified")
    func abortAndErrors() async throws {
        try await LiveOrg.with(contacts: 0, leads: 0) { org in
            let client = try org.client()
            // An aborted open job: its rows are unprocessed.
            let open = try await client.createIngestJob(object: "Contact", operation: .insert)
            try await client.uploadIngestData(jobId: open.id, csv: BulkCSV.encode(columns: ["LastName"], rows: [["A"], ["B"]]))
            let aborted = try await client.abortIngestJob(jobId: open.id)
            #expect(aborted.state == .aborted)
            #expect(aborted.state.isTerminal)
            let left = try await client.ingestJobResults(jobId: open.id, kind: .unprocessed, keyColumn: "LastName")
            #expect(Set(left.map(\.key)) == ["A", "B"])

            // The upload fault: a 500 is retryLater.
            try await org.admin.setFaults(["bulkFailNextUpload": true])
            let job = try await client.createIngestJob(object: "Contact", operation: .insert)
            let uploadError = await salesforceError {
                try await client.uploadIngestData(jobId: job.id, csv: BulkCSV.encode(columns: ["LastName"], rows: [["C"]]))
            }
            #expect(uploadError?.httpStatus == 500)
            #expect(uploadError?.disposition == .retryLater)

            // A header naming no field: the job fails with Salesforce's message.
            try await client.uploadIngestData(jobId: job.id, csv: BulkCSV.encode(columns: ["LastName", "Nope__c"], rows: [["C", "x"]]))
            _ = try await client.closeIngestJob(jobId: job.id)
            let failed = try await self.finished(client, job.id)
            #expect(failed.state == .failed)
            #expect(failed.errorMessage == "InvalidBatch : Field name not found : Nope__c")

            // Refusals by the org and by the client.
            let closedTwice = await salesforceError { try await client.closeIngestJob(jobId: job.id) }
            #expect(closedTwice?.code == "INVALIDJOBSTATE")
            #expect(closedTwice?.disposition == .permanent)
            let badObject = await salesforceError { try await client.createIngestJob(object: "Nope__c", operation: .insert) }
            #expect(badObject?.code == "INVALIDJOB")
            let missing = await salesforceError { try await client.ingestJob(jobId: "750000000000000AAA") }
            #expect(missing?.httpStatus == 404)
            let badId = await salesforceError { try await client.ingestJob(jobId: "750/../../limits") }
            #expect(badId?.code == "INVALID_JOB_ID")
            #expect(badId?.kind == .invalidRequest)
            let badKey = await salesforceError { try await client.ingestJobResults(jobId: job.id, kind: .failed, keyColumn: "Bad Column") }
            #expect(badKey?.code == "INVALID_NAME")
        }
    }

    @Test("results bigger than the connection's response bound are streamed, and a token refused mid-way is renewed")
    func largeResultsAndReauthentication() async throws {
        try await LiveOrg.with(contacts: 0, leads: 0) { org in
            let client = try SalesforceClient(
                configuration: SalesforceConnectionConfiguration(
                    login: .loginURL(org.emulator.baseURL), credentials: LiveOrg.passwordCredentials,
                    apiVersion: "v66.0", requestTimeout: .seconds(30), maxResponseBytes: 64 * 1024
                ),
                httpClient: .shared, logger: .init(label: "test.bulk")
            )
            let count = 12_000
            let rows: [[FieldValue?]] = (0..<count).map { [.string("Row-\($0)"), "A title long enough to make the results large"] }
            let job = try await client.createIngestJob(object: "Contact", operation: .insert)
            try await client.uploadIngestData(jobId: job.id, csv: BulkCSV.encode(columns: ["LastName", "Title"], rows: rows))
            _ = try await client.closeIngestJob(jobId: job.id)
            #expect(try await self.finished(client, job.id).recordsProcessed == count)
            try await org.admin.expireSessions()
            let successful = try await client.ingestJobResults(jobId: job.id, kind: .successful, keyColumn: "LastName")
            #expect(successful.count == count)
            #expect(Set(successful.map(\.key)).count == count)
            #expect(successful.allSatisfy { $0.created == true && $0.salesforceId?.hasPrefix("003") == true })
        }
    }

    @Test("uploads and result downloads outlast the connection's request timeout; other calls do not")
    func bulkTransfersHaveTheirOwnTimeout() async throws {
        try await LiveOrg.with(contacts: 0, leads: 0) { org in
            // The job is driven by an ordinary client; the transfers by one with a 2 s timeout,
            // against an org that answers every REST call 3 s late.
            let client = try org.client()
            let short = try org.client(timeout: .seconds(2))
            try await short.authenticate()
            let job = try await client.createIngestJob(object: "Contact", operation: .insert)
            try await org.admin.setFaults(["latencyMs": 3_000])
            try await short.uploadIngestData(jobId: job.id, csv: BulkCSV.encode(columns: ["LastName"], rows: [["Slow"]]))
            let slowPoll = await salesforceError { try await short.ingestJob(jobId: job.id) }
            #expect(slowPoll?.code == "REQUEST_TIMEOUT")
            try await org.admin.setFaults(["latencyMs": 0])
            _ = try await client.closeIngestJob(jobId: job.id)
            #expect(try await self.finished(client, job.id).state == .jobComplete)
            try await org.admin.setFaults(["latencyMs": 3_000])
            let rows = try await short.ingestJobResults(jobId: job.id, kind: .successful, keyColumn: "LastName")
            #expect(rows.map(\.key) == ["Slow"])
        }
    }
}
