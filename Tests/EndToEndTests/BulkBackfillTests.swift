import EmulatorAdminClient
import Foundation
import SalesforceEmulator
import SfdestClient
import SfdestRuntime
import SfdestTestSupport
import Testing

/// Backfills through Bulk API 2.0 (issue 12): a backfill of at least `bulkThreshold` changed
/// records goes in ingest jobs, everything else by sObject Collections; results per record,
/// failures with Salesforce's code, unprocessed and aborted records sent again, per-record order
/// with streaming changes, and a restart that polls the running job instead of sending it again.
@Suite("Bulk API 2.0 backfills")
struct BulkBackfillTests {
    /// The seeded contacts' profiles: every record gets LastName, FirstName and Email, except
    /// `withoutEmail` (their Email column stays out of the job), and `badEmail` gets an address
    /// the org refuses (`INVALID_EMAIL_ADDRESS`, which sfdest cannot see before sending).
    static func profiles(_ ids: [String], withoutEmail: Set<Int> = [], badEmail: Set<Int> = [], round: String = "b") -> [[String: Any]] {
        ids.enumerated().map { index, id in
            xdmProfile(
                id: id, lastName: "Last-\(round)\(index)", firstName: "First, \"\(round)\(index)\"",
                email: withoutEmail.contains(index) ? nil : badEmail.contains(index) ? "not-an-email" : "\(round)\(index)@example.com"
            )
        }
    }

    @Test func aBackfillOverTheThresholdGoesByBulkOneJobPerSetOfColumns() async throws {
        try await ServiceHarness.with(contacts: 120) { service in
            let e2e = EndToEnd(emulator: service.emulator, admin: service.admin, api: service.api, dataDirectory: service.dataDirectory, logs: service.logs)
            let destination = try await e2e.bulkDestination(threshold: 50)
            let ids = Array(e2e.emulator.seededContactIds.prefix(100))
            let withoutEmail = Set(80..<100)
            var seededEmail: [String: String] = [:]
            for index in withoutEmail { seededEmail[ids[index]] = try #require(try await e2e.admin.record(ids[index]))["Email"] as? String }
            try await e2e.post(Self.profiles(ids, withoutEmail: withoutEmail, badEmail: [7]))
            try await e2e.api.expect(200, .POST, "/v1/destinations/\(destination)/enable")
            try await e2e.waitUntilDelivered(destination)

            // Two jobs (two sets of columns), no collections call.
            #expect(try await e2e.calls("POST /jobs/ingest") == 2)
            #expect(try await e2e.calls("PUT /jobs/ingest/{id}/batches") == 2)
            #expect(try await e2e.patchCalls() == 0)
            for (index, id) in ids.enumerated() {
                let record = try #require(try await e2e.admin.record(id))
                if index == 7 {
                    #expect(record["LastName"] as? String != "Last-b7", "a refused row writes nothing")
                    continue
                }
                #expect(record["LastName"] as? String == "Last-b\(index)")
                #expect(record["FirstName"] as? String == "First, \"b\(index)\"")
                #expect(record["crm_1_seg__c"] as? String == "realized")
                // A record never writes a field it did not change: the Email of those without one is the org's.
                #expect(record["Email"] as? String == (withoutEmail.contains(index) ? seededEmail[id] : "b\(index)@example.com"))
            }
            let jobs = try await e2e.bulkJobs(destination)
            #expect(jobs.count == 2)
            #expect(jobs.allSatisfy { $0["state"] as? String == "JobComplete" })
            #expect(Set(jobs.compactMap { $0["records"] as? Int }) == [80, 20])
            #expect(jobs.reduce(0) { $0 + ($1["processed"] as? Int ?? 0) } == 100)
            #expect(jobs.reduce(0) { $0 + ($1["failed"] as? Int ?? 0) } == 1)
            #expect(jobs.allSatisfy { ($0["id"] as? String)?.hasPrefix("750") == true })

            // The refused row is in the failures view with Salesforce's code; the runs count it.
            let groups = try await e2e.api.expect(200, .GET, "/v1/destinations/\(destination)/failures").object["groups"] as? [[String: Any]] ?? []
            let refused = try #require(groups.first { $0["code"] as? String == "INVALID_EMAIL_ADDRESS" })
            #expect(refused["kind"] as? String == "failed")
            #expect(refused["count"] as? Int == 1)
            #expect((refused["sampleRecordIds"] as? [String])?.first?.hasPrefix(String(ids[7].prefix(15))) == true)
            let totals = try await e2e.runTotals(destination)
            #expect(totals["identitiesActivated"] == 99)
            #expect(totals["identitiesFailed"] == 1)
            // The record's view says what Salesforce acknowledged, as for collections.
            let state = try await e2e.api.expect(200, .GET, "/v1/destinations/\(destination)/records/\(ids[3])").object
            #expect((state["acknowledged"] as? [String: Any])?["LastName"] as? String == "Last-b3")

            // /metrics: the jobs and their records.
            let metrics = try await PrometheusText.scrape(service.baseURL, apiKey: service.apiKey)
            #expect(metrics.value("sfdest_bulk_jobs_total", ["destination": destination, "state": "JobComplete"]) == 2)
            #expect(metrics.value("sfdest_bulk_records_total", ["destination": destination, "outcome": "acknowledged"]) == 99)
            #expect(metrics.value("sfdest_bulk_records_total", ["destination": destination, "outcome": "failed"]) == 1)

            // Later streaming changes go by collections.
            try await e2e.post([xdmProfile(id: ids[0], lastName: "Streamed", firstName: "First, \"b0\"", email: "b0@example.com")])
            try await e2e.waitUntilDelivered(destination)
            #expect(try await e2e.patchCalls() == 1)
            #expect(try await e2e.calls("POST /jobs/ingest") == 2)
            #expect(try #require(try await e2e.admin.record(ids[0]))["LastName"] as? String == "Streamed")
        }
    }

    @Test func aBackfillUnderTheThresholdGoesByCollections() async throws {
        try await EndToEnd.with(contacts: 40) { e2e in
            let destination = try await e2e.bulkDestination(threshold: 500)
            let ids = Array(e2e.emulator.seededContactIds.prefix(30))
            try await e2e.post(Self.profiles(ids))
            try await e2e.api.expect(200, .POST, "/v1/destinations/\(destination)/enable")
            try await e2e.waitUntilDelivered(destination)
            #expect(try await e2e.calls("POST /jobs/ingest") == 0)
            #expect(try await e2e.patchCalls() >= 1)
            for (index, id) in ids.enumerated() {
                #expect(try #require(try await e2e.admin.record(id))["LastName"] as? String == "Last-b\(index)")
            }
            #expect(try await e2e.bulkJobs(destination).isEmpty)
        }
    }

    @Test func aNullThresholdSendsEveryBackfillByCollections() async throws {
        try await EndToEnd.with(contacts: 120) { e2e in
            let destination = try await e2e.bulkDestination(threshold: NSNull())
            let view = try await e2e.api.expect(200, .GET, "/v1/destinations/\(destination)").object
            #expect(view["bulkThreshold"] is NSNull)
            let ids = Array(e2e.emulator.seededContactIds.prefix(100))
            try await e2e.post(Self.profiles(ids))
            try await e2e.api.expect(200, .POST, "/v1/destinations/\(destination)/enable")
            try await e2e.waitUntilDelivered(destination)
            #expect(try await e2e.calls("POST /jobs/ingest") == 0)
            #expect(try await e2e.patchCalls() >= 1)
            for (index, id) in ids.enumerated() {
                #expect(try #require(try await e2e.admin.record(id))["LastName"] as? String == "Last-b\(index)")
            }
        }
    }

    @Test func theThresholdIsValidatedAndDefaultsTo10000() async throws {
        try await EndToEnd.with(contacts: 0) { e2e in
            let connection = try await e2e.api.connectToEmulator(loginURL: e2e.emulator.baseURL)
            let plain = try await e2e.api.expect(201, .POST, "/v1/destinations", json: ["name": "d", "connectionId": connection, "objectType": "Contact"]).object
            #expect(plain["bulkThreshold"] as? Int == 10_000)
            #expect((plain["bulkJobs"] as? [Any])?.isEmpty == true)
            for bad in [0, -5, 2.5, "100"] as [Any] {
                let answer = try await e2e.api.send(.POST, "/v1/destinations", json: ["name": "d", "connectionId": connection, "objectType": "Contact", "bulkThreshold": bad])
                #expect(answer.status == 422, "bulkThreshold \(bad): \(answer.text)")
                let details = (answer.object["error"] as? [String: Any])?["details"] as? [[String: Any]] ?? []
                #expect(details.contains { $0["field"] as? String == "bulkThreshold" }, "bulkThreshold \(bad): \(answer.text)")
            }
            let set = try await e2e.api.expect(201, .POST, "/v1/destinations", json: ["name": "d", "connectionId": connection, "objectType": "Contact", "bulkThreshold": 250]).object
            #expect(set["bulkThreshold"] as? Int == 250)
        }
    }

    @Test func unprocessedRowsAreSentAgain() async throws {
        try await EndToEnd.with(contacts: 80) { e2e in
            let destination = try await e2e.bulkDestination(threshold: 50)
            let ids = Array(e2e.emulator.seededContactIds.prefix(60))
            try await e2e.admin.setFaults(["bulkFailJobAfterBatches": 0])
            try await e2e.post(Self.profiles(ids))
            try await e2e.api.expect(200, .POST, "/v1/destinations/\(destination)/enable")
            try await e2e.waitUntilDelivered(destination)
            let jobs = try await e2e.bulkJobs(destination)
            #expect(jobs.first?["state"] as? String == "Failed")
            #expect(try await e2e.calls("GET /jobs/ingest/{id}/unprocessedrecords") >= 1)
            // Queued again, then sent by collections: every record holds its values.
            #expect(try await e2e.patchCalls() >= 1)
            for (index, id) in ids.enumerated() {
                let record = try #require(try await e2e.admin.record(id))
                #expect(record["LastName"] as? String == "Last-b\(index)")
                #expect(record["Email"] as? String == "b\(index)@example.com")
            }
            #expect(try await e2e.runTotals(destination)["identitiesActivated"] == 60)
        }
    }

    @Test func anUploadFaultAbortsTheJobAndItsRecordsGoAgain() async throws {
        try await EndToEnd.with(contacts: 80) { e2e in
            let destination = try await e2e.bulkDestination(threshold: 50)
            let ids = Array(e2e.emulator.seededContactIds.prefix(60))
            try await e2e.admin.setFaults(["bulkFailNextUpload": true])
            try await e2e.post(Self.profiles(ids))
            try await e2e.api.expect(200, .POST, "/v1/destinations/\(destination)/enable")
            try await e2e.waitUntilDelivered(destination)
            let jobs = try await e2e.bulkJobs(destination)
            #expect(jobs.map { $0["state"] as? String } == ["JobComplete", "Aborted"])
            // The emulator's own word: the first job is aborted, not left open.
            let aborted = try #require(jobs.last?["id"] as? String)
            #expect(try await BulkTesting.emulatorJob(baseURL: e2e.emulator.baseURL, id: aborted)["state"] as? String == "Aborted")
            #expect(try await e2e.calls("PUT /jobs/ingest/{id}/batches") == 2)
            #expect(try await e2e.patchCalls() == 0)
            for (index, id) in ids.enumerated() {
                #expect(try #require(try await e2e.admin.record(id))["LastName"] as? String == "Last-b\(index)")
            }
        }
    }

    @Test func aStreamingChangeDuringAJobWaitsForItThenLands() async throws {
        try await EndToEnd.with(contacts: 80) { e2e in
            let destination = try await e2e.bulkDestination(threshold: 50)
            let ids = Array(e2e.emulator.seededContactIds.prefix(60))
            // The emulator waits 10 s before processing the job's batch: time to look while it runs,
            // even on a loaded machine.
            try await e2e.admin.setFaults(["bulkBatchDelayMs": 10_000])
            try await e2e.post(Self.profiles(ids))
            try await e2e.api.expect(200, .POST, "/v1/destinations/\(destination)/enable")
            _ = try await BulkTesting.waitForJob(e2e.api, destination, in: ["UploadComplete", "InProgress"])
            // A newer change to a record in the running job: it waits for the job.
            try await e2e.post([xdmProfile(id: ids[0], lastName: "Newer", firstName: "First, \"b0\"", email: "b0@example.com")])
            try await Task.sleep(for: .milliseconds(400))
            #expect(try await e2e.patchCalls() == 0, "sent by collections while its bulk job still ran")
            let running = try await e2e.bulkJobs(destination)
            #expect(running.first?["state"] as? String != "JobComplete")
            try await e2e.waitUntilDelivered(destination)
            // Then it lands after the job: the last accepted value wins.
            #expect(try #require(try await e2e.admin.record(ids[0]))["LastName"] as? String == "Newer")
            #expect(try await e2e.patchCalls() == 1)
            for (index, id) in ids.enumerated().dropFirst() {
                #expect(try #require(try await e2e.admin.record(id))["LastName"] as? String == "Last-b\(index)")
            }
        }
    }

    @Test func aRestartMidJobPollsTheJobAndNeverSendsItsRecordsAgain() async throws {
        let logs = CapturedLogs()
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-bulk-restart-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        try await SalesforceEmulator.with(EmulatorConfiguration(port: 0, contacts: 80, leads: 0)) { emulator in
            let admin = EmulatorAdminClient(baseURL: emulator.baseURL)
            let ids = Array(emulator.seededContactIds.prefix(60))
            let destination = try await BulkTesting.runService(dataDirectory: dataDirectory, emulator: emulator, logs: logs) { api in
                let destination = try await BulkTesting.destination(api: api, admin: admin, loginURL: emulator.baseURL, threshold: 50)
                try await admin.setFaults(["bulkBatchDelayMs": 6_000])
                try await api.postProfiles(Self.profiles(ids))
                try await api.expect(200, .POST, "/v1/destinations/\(destination)/enable")
                _ = try await BulkTesting.waitForJob(api, destination, in: ["UploadComplete", "InProgress"])
                return destination
            }
            // The service stopped with the job running at Salesforce. Started again on the same
            // data, it polls that job and applies its results.
            #expect(try await admin.stats().callsByEndpoint["POST /jobs/ingest"] == 1)
            try await BulkTesting.runService(dataDirectory: dataDirectory, emulator: emulator, logs: logs) { api in
                try await api.waitUntilDelivered(destination, timeout: .seconds(60))
                let jobs = try await BulkTesting.bulkJobs(api, destination)
                #expect(jobs.map { $0["state"] as? String } == ["JobComplete"])
                #expect(jobs.first?["records"] as? Int == 60)
            }
            let calls = try await admin.stats().callsByEndpoint
            #expect(calls["POST /jobs/ingest"] == 1, "a second job was created: \(calls)")
            #expect(calls["PUT /jobs/ingest/{id}/batches"] == 1, "the records were uploaded again: \(calls)")
            #expect(calls["PATCH /composite/sobjects"] == nil, "the records were sent again by collections: \(calls)")
            for (index, id) in ids.enumerated() {
                #expect(try #require(try await admin.record(id))["LastName"] as? String == "Last-b\(index)")
            }
            #expect(logs.all.contains { $0.contains("following a bulk job") })
        }
    }
}
