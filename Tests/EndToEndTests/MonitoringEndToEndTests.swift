import Foundation
import SfdestCLI
import SfdestRuntime
import Testing

@Suite("End to end: watching a destination")
struct MonitoringEndToEndTests {
    /// Profiles that end activated (4), excluded (2: Lead Ids on a Contact destination), failed
    /// (2: invalid emails), then unchanged (2: the first two sent again).
    static func scenario(_ e2e: EndToEnd, destination: String) async throws -> (contacts: [String], failing: [String]) {
        let contacts = Array(e2e.emulator.seededContactIds.prefix(6))
        let good = contacts.prefix(4).map { xdmProfile(id: $0, lastName: "Good \($0.suffix(3))", email: "a\($0.suffix(3))@example.com") }
        let failing = Array(contacts.suffix(2))
        let bad = failing.map { xdmProfile(id: $0, lastName: "Bad", email: "not-an-email") }
        let leads = e2e.emulator.seededLeadIds.prefix(2).map { xdmProfile(id: $0, lastName: "Lead") }
        try await e2e.post(good + bad + leads)
        try await e2e.waitUntilDelivered(destination)
        try await e2e.post(Array(good.prefix(2)))
        try await e2e.waitUntilDelivered(destination)
        return (contacts, failing)
    }

    @Test func runsCountEveryOutcomeAndTheyAddUpWithAProcessingTime() async throws {
        try await EndToEnd.with(contacts: 10) { e2e in
            let destination = try await e2e.configureDestination()
            let started = Date()
            _ = try await Self.scenario(e2e, destination: destination)
            let finished = Date()
            let elapsed = finished.timeIntervalSince(started)

            // One run per hour window the profiles were received in: one, or two when the scenario
            // crossed the hour.
            let windows = Set([started, finished].map { Int($0.timeIntervalSince1970) / 3600 }).count
            let runs = try await e2e.api.expect(200, .GET, "/v1/destinations/\(destination)/runs").array
            #expect(runs.count == windows, "\(runs.count) runs for \(windows) hour windows: \(runs)")
            func total(_ key: String) -> Int { runs.reduce(0) { $0 + ($1[key] as? Int ?? 0) } }
            #expect(total("profilesReceived") == 10)
            #expect(total("identitiesActivated") == 4)
            #expect(total("identitiesUnchanged") == 2)
            #expect(total("identitiesExcluded") == 2)
            #expect(total("identitiesFailed") == 2)
            for run in runs {
                #expect(run["status"] as? String == "completed")
                let received = run["profilesReceived"] as? Int ?? -1
                let resolved = ["identitiesActivated", "identitiesUnchanged", "identitiesExcluded", "identitiesFailed"]
                    .reduce(0) { $0 + (run[$1] as? Int ?? 0) }
                #expect(received == resolved, "\(run)")
                let activated = run["identitiesActivated"] as? Int ?? -1
                #expect(received > 0 && run["activationRate"] as? Double == Double(activated) / Double(received), "\(run)")
                let seconds = try #require(run["processingSeconds"] as? Double, "\(run)")
                #expect(seconds >= 0 && seconds <= elapsed + 1, "\(run)")
                #expect(run["firstReceivedAt"] is String && run["lastResolvedAt"] is String)
            }
            if windows == 1 {
                // All ten profiles in one window: its rate is the scenario's, 4 activated of 10.
                let run = try #require(runs.first)
                #expect(run["activationRate"] as? Double == 0.4, "\(run)")
                #expect(try #require(run["processingSeconds"] as? Double, "\(run)") > 0)
            }

            // The same numbers through the CLI's table.
            let cli = MonitoringCLI(client: e2e.api)
            let table = try await cli.render(.runs(destinationId: destination), json: false)
            #expect(table.hasPrefix("WINDOW (UTC)"))
            #expect(table.contains("completed"))
            print(table)
            let failures = try await cli.render(.failures(destinationId: destination), json: false)
            #expect(failures.contains("INVALID_EMAIL_ADDRESS") && failures.contains("excluded"))
            print(failures)
            let audiences = try await cli.render(.audiences(destinationId: destination), json: false)
            #expect(audiences.contains("seg-gold") && audiences.contains("crm_1_seg__c"))
            let destinations = try await cli.render(.destinations, json: false)
            #expect(destinations.contains(destination))
            let json = try await cli.render(.runs(destinationId: destination), json: true)
            #expect(json.contains("\"profilesReceived\""))
        }
    }

    @Test func audiencesShowMappingDatesStatusesAndLastDelivery() async throws {
        try await EndToEnd.with(contacts: 10) { e2e in
            let destination = try await e2e.configureDestination(segments: [
                ["segmentId": "seg-gold", "mappingId": "crm_1_seg", "startDate": "2026-01-01", "endDate": "2027-12-31"],
            ])
            let ids = Array(e2e.emulator.seededContactIds.prefix(3))
            try await e2e.post([
                xdmProfile(id: ids[0], lastName: "A"), xdmProfile(id: ids[1], lastName: "B"),
                xdmProfile(id: ids[2], lastName: "C", segments: ["seg-gold": "exited"]),
            ])
            try await e2e.waitUntilDelivered(destination)
            let audiences = try await e2e.api.expect(200, .GET, "/v1/destinations/\(destination)/segments").array
            let gold = try #require(audiences.first)
            #expect(gold["mappingId"] as? String == "crm_1_seg__c")
            #expect(gold["startDate"] as? String == "2026-01-01" && gold["endDate"] as? String == "2027-12-31")
            let profiles = gold["profiles"] as? [String: Int] ?? [:]
            #expect(profiles == ["realized": 2, "existing": 0, "exited": 1])
            #expect(gold["lastDelivery"] is String)
        }
    }

    @Test func aRecordsHistoryShowsRetriesFailuresAndWhatWasSent() async throws {
        try await EndToEnd.with(contacts: 10) { e2e in
            let destination = try await e2e.configureDestination()
            let retried = e2e.emulator.seededContactIds[0]
            let failed = e2e.emulator.seededContactIds[1]
            try await e2e.admin.setFaults(["lockRowRate": 1.0])
            try await e2e.post([xdmProfile(id: retried, lastName: "Locked")])
            var history: [[String: Any]] = []
            for _ in 0..<200 where !history.contains(where: { $0["event"] as? String == "retry" }) {
                try await Task.sleep(for: .milliseconds(50))
                history = try await e2e.api.send(.GET, "/v1/destinations/\(destination)/records/\(retried)").object["history"] as? [[String: Any]] ?? []
            }
            try await e2e.admin.setFaults(["lockRowRate": 0])
            try await e2e.post([xdmProfile(id: failed, lastName: "Bad", email: "not-an-email")])
            try await e2e.waitUntilDelivered(destination)

            let record = try await e2e.api.expect(200, .GET, "/v1/destinations/\(destination)/records/\(retried)").object
            history = record["history"] as? [[String: Any]] ?? []
            let events = history.compactMap { $0["event"] as? String }
            #expect(events.first == "sent" && events.dropFirst().first == "retry", "\(events)")
            #expect(events.suffix(2) == ["sent", "acknowledged"], "\(events)")
            #expect(history[1]["code"] as? String == "UNABLE_TO_LOCK_ROW")
            #expect(history[0]["attempt"] as? Int == 1 && (history.last?["attempt"] as? Int ?? 0) >= 2)
            #expect((history[0]["sent"] as? [String: Any])?["LastName"] as? String == "Locked")
            #expect(history.allSatisfy { $0["at"] is String })
            #expect((record["acknowledged"] as? [String: Any])?["LastName"] as? String == "Locked")

            let failedHistory = try await e2e.api.expect(200, .GET, "/v1/destinations/\(destination)/records/\(failed)").object["history"] as? [[String: Any]] ?? []
            #expect(failedHistory.compactMap { $0["event"] as? String } == ["sent", "failed"])
            #expect(failedHistory.last?["code"] as? String == "INVALID_EMAIL_ADDRESS")
            #expect(failedHistory.last?["fields"] as? [String] == ["Email"])
            #expect((failedHistory.first?["sent"] as? [String: Any])?["Email"] as? String == "not-an-email")
        }
    }

    /// A per-record failure a fix in the org removes: the audience field is re-created as a 4-character
    /// Text field, too short for the status it must hold (STRING_TOO_LONG); an admin creates the
    /// field again as a Long Text Area and the failed records are replayed through the CLI's code path.
    @Test func replayThroughTheCLIAfterTheFieldIsCreatedAgainDeliversTheRecords() async throws {
        try await EndToEnd.with(contacts: 10) { e2e in
            let destination = try await e2e.configureDestination()
            try await e2e.admin.deleteField(objectType: "Contact", name: "crm_1_seg__c")
            try await e2e.admin.addField(objectType: "Contact", name: "crm_1_seg__c", fieldType: "string", length: 4)
            let ids = Array(e2e.emulator.seededContactIds.prefix(3))
            try await e2e.post(ids.map { xdmProfile(id: $0, lastName: "Replayed") })
            try await e2e.waitUntilDelivered(destination)
            let cli = MonitoringCLI(client: e2e.api)
            let before = try await cli.render(.failures(destinationId: destination), json: false)
            #expect(before.contains("STRING_TOO_LONG"), "\(before)")
            #expect(try await cli.retryFailures(destinationId: destination, codes: ["NO_SUCH_CODE"]) == 0)

            try await e2e.admin.deleteField(objectType: "Contact", name: "crm_1_seg__c")
            try await e2e.admin.addLongTextAreaFields(["crm_1_seg__c"], to: ["Contact"])
            #expect(try await cli.retryFailures(destinationId: destination, recordIds: [ids[0]]) == 1)
            try await e2e.waitUntilDelivered(destination)
            #expect(try await cli.retryFailures(destinationId: destination, codes: ["STRING_TOO_LONG"]) == 2)
            try await e2e.waitUntilDelivered(destination)

            for id in ids {
                let record = try #require(try await e2e.admin.record(id))
                #expect(record["crm_1_seg__c"] as? String == "realized")
            }
            #expect(try await cli.render(.failures(destinationId: destination), json: false) == "No failed or excluded identities.")
            let history = try await e2e.api.expect(200, .GET, "/v1/destinations/\(destination)/records/\(ids[0])").object["history"] as? [[String: Any]] ?? []
            #expect(history.compactMap { $0["event"] as? String } == ["sent", "failed", "replayed", "sent", "acknowledged"])
            let runs = try await e2e.api.expect(200, .GET, "/v1/destinations/\(destination)/runs").array
            #expect(!runs.isEmpty && runs.allSatisfy { $0["status"] as? String == "completed" }, "\(runs)")
        }
    }

    @Test func metricsParseAsPrometheusTextAndMoveAsWorkIsDone() async throws {
        try await EndToEnd.with(contacts: 10) { e2e in
            let destination = try await e2e.configureDestination()
            let before = try await PrometheusText.scrape(e2e.api.baseURL, apiKey: e2e.api.apiKey)
            // A counter nothing has incremented yet may be absent: nothing counted either way.
            #expect((before.value("sfdest_profiles_ingested_total") ?? 0) == 0)
            _ = try await Self.scenario(e2e, destination: destination)
            let after = try await PrometheusText.scrape(e2e.api.baseURL, apiKey: e2e.api.apiKey)

            #expect(after.types["sfdest_profiles_ingested_total"] == "counter")
            #expect(after.help["sfdest_profiles_ingested_total"] != nil)
            #expect(after.value("sfdest_profiles_ingested_total") == 10)
            let labels = ["destination": destination]
            #expect(after.value("sfdest_delivery_outcomes_total", labels.merging(["outcome": "acknowledged", "code": "OK"]) { $1 }) == 4)
            #expect(after.value("sfdest_delivery_outcomes_total", labels.merging(["outcome": "failed", "code": "INVALID_EMAIL_ADDRESS"]) { $1 }) == 2)
            #expect(after.types["sfdest_delivery_latency_seconds"] == "histogram")
            #expect(after.value("sfdest_delivery_latency_seconds_count", labels) == 4)
            #expect(after.value("sfdest_delivery_latency_seconds_bucket", labels.merging(["le": "+Inf"]) { $1 }) == 4)
            #expect(after.value("sfdest_backlog_records", labels.merging(["state": "failed"]) { $1 }) == 2)
            #expect(after.value("sfdest_backlog_records", labels.merging(["state": "pending"]) { $1 }) == 0)
            #expect(try #require(after.value("sfdest_salesforce_api_calls_total")) >= 1)
            #expect(try #require(after.value("sfdest_salesforce_api_usage", ["kind": "max"])) > 0)
            #expect(after.value("sfdest_profiles_stored") == 8)
        }
    }

    @Test func everyLogLineOfARequestCarriesItsRequestId() async throws {
        try await EndToEnd.with(contacts: 10) { e2e in
            let destination = try await e2e.configureDestination()
            let answer = try await e2e.api.expect(200, .POST, "/v1/destinations/\(destination)/failures/retry", json: [:] as [String: Any])
            let requestId = try #require(answer.headers.first(name: "X-Request-Id"))
            let lines = e2e.logs.all.filter { $0.contains("failures re-queued") }
            #expect(lines.count == 1)
            #expect(lines.allSatisfy { $0.contains(requestId) }, "\(lines)")
            let created = e2e.logs.all.filter { $0.contains("destination created") }
            #expect(!created.isEmpty && created.allSatisfy { $0.contains("hb.request.id") }, "\(created)")
        }
    }
}
