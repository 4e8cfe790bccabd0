import Foundation
import Testing

@Suite("Bulk API 2.0 ingest: batches, daily limits, faults and abort")
struct BulkIngestLimitTests {
    /// An insert CSV of `count` contacts named `prefix-N`.
    private static func contacts(_ count: Int, prefix: String = "Bulk") -> String {
        "LastName,Title\n" + (0..<count).map { "\(prefix)-\($0),T" }.joined(separator: "\n") + "\n"
    }

    private static func remainingBatches(_ org: EmulatorHarness, token: String) async throws -> (max: Int?, remaining: Int?) {
        let limits = try await org.rest(.GET, "/limits/", token: token).object
        let batches = limits["DailyBulkApiBatches"] as? [String: Any]
        return (batches?["Max"] as? Int, batches?["Remaining"] as? Int)
    }

    @Test("rows are processed in batches of 10,000; /limits DailyBulkApiBatches goes down by each")
    func batchesCountAgainstTheAllowance() async throws {
        try await withEmulator { org in
            let token = try await org.accessToken()
            #expect(try await Self.remainingBatches(org, token: token) == (15_000, 15_000))
            let (id, info) = try await org.runJob("Contact", "insert", csv: Self.contacts(20_001), token: token)
            #expect(info["state"] as? String == "JobComplete")
            #expect(info["numberRecordsProcessed"] as? Int == 20_001)
            #expect(try await Self.remainingBatches(org, token: token) == (15_000, 14_997))
            #expect(try await org.results(id, "successfulResults", token: token).rows.count == 20_001)
            let stats = try await org.admin(.GET, "/stats").object
            #expect(stats["recordsWritten"] as? Int == 20_001)
        }
    }

    @Test("past the daily batch or record limit the job fails with ExceededQuota; the rest is unprocessed")
    func dailyLimits() async throws {
        try await withEmulator { org in
            let token = try await org.accessToken()
            try await org.setFaults(["bulkDailyBatchLimit": 2])
            let (id, info) = try await org.runJob("Contact", "insert", csv: Self.contacts(25_000), token: token)
            #expect(info["state"] as? String == "Failed")
            #expect((info["errorMessage"] as? String)?.hasPrefix("ExceededQuota : ") == true)
            #expect(info["numberRecordsProcessed"] as? Int == 20_000)
            #expect(try await org.results(id, "unprocessedrecords", token: token).rows.count == 5_000)
            #expect(try await Self.remainingBatches(org, token: token) == (2, 0))

            try await org.setFaults(["bulkDailyBatchLimit": 15_000, "bulkDailyRecordLimit": 20_010])
            let small = try await org.runJob("Contact", "insert", csv: Self.contacts(10, prefix: "Fits"), token: token)
            #expect(small.info["state"] as? String == "JobComplete")
            let over = try await org.runJob("Contact", "insert", csv: Self.contacts(1, prefix: "Over"), token: token)
            #expect(over.info["state"] as? String == "Failed")
            #expect((over.info["errorMessage"] as? String)?.contains("records") == true)
            #expect(try await org.results(over.id, "unprocessedrecords", token: token).rows.first?["LastName"] == "Over-0")
        }
    }

    @Test("the upload fault answers 500 once; the fail-after-batches fault fails the job mid-way")
    func faults() async throws {
        try await withEmulator { org in
            let token = try await org.accessToken()
            try await org.setFaults(["bulkFailNextUpload": true])
            let id = try #require(try await org.createJob("Contact", "insert", token: token)["id"] as? String)
            let failed = try await org.restRaw(.PUT, "/jobs/ingest/\(id)/batches", body: Self.contacts(1), token: token)
            #expect(failed.status == 500)
            #expect(failed.errorCode == "UNKNOWN_EXCEPTION")
            #expect(try await org.admin(.GET, "/faults").object["bulkFailNextUpload"] as? Bool == false)
            #expect(try await org.restRaw(.PUT, "/jobs/ingest/\(id)/batches", body: Self.contacts(1), token: token).status == 201)

            try await org.setFaults(["bulkFailJobAfterBatches": 1])
            let (midway, info) = try await org.runJob("Contact", "insert", csv: Self.contacts(15_000), token: token)
            #expect(info["state"] as? String == "Failed")
            #expect(info["numberRecordsProcessed"] as? Int == 10_000)
            #expect((info["errorMessage"] as? String)?.isEmpty == false)
            #expect(try await org.results(midway, "successfulResults", token: token).rows.count == 10_000)
            let unprocessed = try await org.results(midway, "unprocessedrecords", token: token)
            #expect(unprocessed.header == ["LastName", "Title"])
            #expect(unprocessed.rows.count == 5_000)
            try await org.setFaults(["bulkFailJobAfterBatches": NSNull()])
            #expect(try await org.admin(.GET, "/faults").object["bulkFailJobAfterBatches"] is NSNull)
        }
    }

    @Test("abort: an open job's rows are all unprocessed; an InProgress job stops between batches")
    func abort() async throws {
        try await withEmulator { org in
            let token = try await org.accessToken()
            let open = try #require(try await org.createJob("Contact", "insert", token: token)["id"] as? String)
            #expect(try await org.restRaw(.PUT, "/jobs/ingest/\(open)/batches", body: Self.contacts(3), token: token).status == 201)
            let aborted = try await org.rest(.PATCH, "/jobs/ingest/\(open)", json: ["state": "Aborted"], token: token)
            #expect(aborted.status == 200)
            #expect(aborted.object["state"] as? String == "Aborted")
            #expect(try await org.results(open, "unprocessedrecords", token: token).rows.count == 3)
            #expect(try await org.rest(.PATCH, "/jobs/ingest/\(open)", json: ["state": "UploadComplete"], token: token).status == 409)

            try await org.setFaults(["bulkBatchDelayMs": 3_000])
            let running = try #require(try await org.createJob("Contact", "insert", token: token)["id"] as? String)
            #expect(try await org.restRaw(.PUT, "/jobs/ingest/\(running)/batches", body: Self.contacts(15_000), token: token).status == 201)
            _ = try await org.rest(.PATCH, "/jobs/ingest/\(running)", json: ["state": "UploadComplete"], token: token)
            let inProgress = try await org.waitForJob(running, token: token, until: ["InProgress"])
            #expect(inProgress["state"] as? String == "InProgress")
            #expect(try await org.rest(.PATCH, "/jobs/ingest/\(running)", json: ["state": "Aborted"], token: token).status == 200)
            let end = try await org.waitForJob(running, token: token)
            #expect(end["state"] as? String == "Aborted")
            let processed = try #require(end["numberRecordsProcessed"] as? Int)
            #expect(processed < 15_000)
            let unprocessed = try await org.results(running, "unprocessedrecords", token: token).rows.count
            #expect(processed + unprocessed == 15_000)
        }
    }

    @Test("an upload has its own 150 MB bound: one larger than the 50 MB of other requests is taken")
    func largeUpload() async throws {
        try await withEmulator { org in
            let token = try await org.accessToken()
            let id = try #require(try await org.createJob("Contact", "insert", token: token)["id"] as? String)
            let big = "LastName,Title\nBig," + String(repeating: "x", count: 51 * 1024 * 1024) + "\n"
            #expect(try await org.restRaw(.PUT, "/jobs/ingest/\(id)/batches", body: big, token: token).status == 201)
            // The job holds it: a second upload is refused as one too many, not as too large.
            let second = try await org.restRaw(.PUT, "/jobs/ingest/\(id)/batches", body: "LastName\nSmall\n", token: token)
            #expect(second.status == 409)
            #expect((second.array.first?["message"] as? String)?.contains("one upload per job") == true)
        }
    }
}
