import EmulatorAdminClient
import Foundation
import SfdestRuntime
import Testing

@Suite("End to end: pauses that resume by themselves or after a fix")
struct PauseAndResumeTests {
    /// Waits until the destination's delivery status is the given one; returns the destination.
    func waitForStatus(_ status: String, _ e2e: EndToEnd, _ destination: String) async throws -> [String: Any] {
        // Up to 30 s: a loaded machine may take a while to send the first batch.
        for _ in 0..<1_500 {
            let shown = try await e2e.api.expect(200, .GET, "/v1/destinations/\(destination)").object
            if (shown["delivery"] as? [String: Any])?["status"] as? String == status { return shown }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("the destination never showed \(status)")
        return [:]
    }

    @Test func theAPILimitPausesWithoutReauthenticatingAndResumes() async throws {
        try await EndToEnd.with(contacts: 50, configure: { $0.delivery.throttlePause = 2; $0.delivery.apiBudgetRecheck = 0.3 }) { e2e in
            let destination = try await e2e.configureDestination()
            let stats = try await e2e.admin.stats()
            try await e2e.admin.setFaults(["apiLimit": Double(stats.apiUsed + 1000), "apiUsed": Double(stats.apiUsed + 1000)])
            let tokensBefore = try await e2e.admin.stats().tokenRequests
            try await e2e.post(e2e.emulator.seededContactIds.map { xdmProfile(id: $0, lastName: "Throttled") })
            let paused = try await self.waitForStatus("paused_api_limit", e2e, destination)
            #expect(deliveryReason(paused).contains("REQUEST_LIMIT_EXCEEDED"))
            // The next day: the allowance is back.
            try await e2e.admin.setFaults(["apiUsed": 0])
            try await e2e.waitUntilDelivered(destination)
            #expect(try await e2e.admin.record(e2e.emulator.seededContactIds[0])?["LastName"] as? String == "Throttled")
            #expect(try await e2e.admin.stats().tokenRequests == tokensBefore, "REQUEST_LIMIT_EXCEEDED must not trigger re-authentication")
        }
    }

    /// With the default settings: the allowance is used up, then comes back; delivery goes on
    /// within seconds (the next batch after the 5 s throttle pause is the probe), not after a
    /// minute, and the log says it resumed.
    @Test func deliveryResumesWithinSecondsOfTheAllowanceComingBackAndSaysSo() async throws {
        try await EndToEnd.with(contacts: 20) { e2e in
            let destination = try await e2e.configureDestination()
            let stats = try await e2e.admin.stats()
            try await e2e.admin.setFaults(["apiLimit": Double(stats.apiUsed + 1000), "apiUsed": Double(stats.apiUsed + 1000)])
            try await e2e.post(e2e.emulator.seededContactIds.map { xdmProfile(id: $0, lastName: "Resumed") })
            _ = try await self.waitForStatus("paused_api_limit", e2e, destination)
            try await e2e.admin.setFaults(["apiUsed": 0])
            let restored = ContinuousClock.now
            try await e2e.waitUntilDelivered(destination)
            let waited = ContinuousClock.now - restored
            // The pause is 5 s: well under the 60 s it was (bounded loosely for a loaded machine).
            #expect(waited < .seconds(30), "delivered \(waited) after the allowance came back")
            #expect(try await e2e.admin.record(e2e.emulator.seededContactIds[0])?["LastName"] as? String == "Resumed")
            let resumed = e2e.logs.all.filter { $0.contains("delivery resumed") }
            #expect(resumed.count == 1, "\(resumed)")
            #expect(resumed.first?.contains("after=paused_api_limit") == true, "\(resumed)")
        }
    }

    @Test func theAPIBudgetPausesTheConnectionUntilUsageAllows() async throws {
        // One request in flight, fixed: the budget is checked before each, so it is met exactly.
        try await EndToEnd.with(contacts: 600, configure: {
            $0.delivery.apiBudgetRecheck = 0.3; $0.delivery.batchSize = 100; $0.delivery.concurrentRequests = 1; $0.delivery.maxConcurrentRequests = 1
        }) { e2e in
            let destination = try await e2e.configureDestination()
            // 78 of 100 calls used: the next call reaches the 80% budget.
            try await e2e.admin.setFaults(["apiLimit": 100, "apiUsed": 78])
            try await e2e.post(e2e.emulator.seededContactIds.map { xdmProfile(id: $0, lastName: "Budgeted") })
            let paused = try await self.waitForStatus("paused_api_budget", e2e, destination)
            #expect(deliveryReason(paused).contains("API budget"))
            let usedWhilePaused = try await e2e.admin.stats().apiUsed
            #expect(usedWhilePaused <= 81, "the service went past its 80% budget: \(usedWhilePaused) of 100")
            let backlog = paused["backlog"] as? [String: Int] ?? [:]
            #expect((backlog["pending"] ?? 0) + (backlog["retrying"] ?? 0) + (backlog["inFlight"] ?? 0) > 0)
            // Usage drops (a new day, another app stopped): delivery resumes by itself.
            try await e2e.admin.setFaults(["apiLimit": 15000, "apiUsed": 0])
            try await e2e.waitUntilDelivered(destination)
            for id in e2e.emulator.seededContactIds {
                #expect(try await e2e.admin.record(id)?["LastName"] as? String == "Budgeted")
            }
        }
    }

    @Test func revokedCredentialsQueueChangesUntilTheConnectionIsFixed() async throws {
        try await EndToEnd.with(contacts: 20, configure: { $0.delivery.authenticationPause = 0.3 }) { e2e in
            let destination = try await e2e.configureDestination()
            let connection = try #require(try await e2e.api.expect(200, .GET, "/v1/connections").array.first?["id"] as? String)
            // An admin resets the integration user's password: every session is revoked.
            try await e2e.admin.send(.POST, "/emulator/credentials", json: ["password": "rotated-pwTOKEN123"])
            let ids = e2e.emulator.seededContactIds
            try await e2e.post(ids.prefix(10).map { xdmProfile(id: $0, lastName: "Queued") })
            let failed = try await self.waitForStatus("authentication_failed", e2e, destination)
            #expect(deliveryReason(failed).contains("authentication failure"))
            // Changes keep queueing meanwhile.
            try await e2e.post(ids.suffix(10).map { xdmProfile(id: $0, lastName: "Queued") })
            let shown = try await e2e.api.expect(200, .GET, "/v1/connections/\(connection)").object
            #expect(shown["status"] as? String == "authentication_failed")
            // The user enters the new password: everything flows.
            try await e2e.api.expect(200, .PUT, "/v1/connections/\(connection)", json: [
                "name": "Emulated org", "loginUrl": e2e.emulator.baseURL,
                "auth": ["type": "password", "username": "integration@emulator.sfdest", "password": "rotated-pw", "securityToken": "TOKEN123",
                         "clientId": "sfdest-emulator-consumer-key", "clientSecret": EndToEnd.clientSecret],
            ] as [String: Any])
            try await e2e.waitUntilDelivered(destination)
            for id in ids {
                #expect(try await e2e.admin.record(id)?["LastName"] as? String == "Queued")
            }
        }
    }

    @Test func aPauseLongerThanTheRetentionWindowDoesNotFailTheBacklog() async throws {
        // Retention 3 s; the connection's credentials are refused for longer than that. Once fixed,
        // the first transient error must be retried: the paused time is not the records' fault.
        try await EndToEnd.with(contacts: 10, configure: { $0.delivery.retention = 3; $0.delivery.authenticationPause = 0.3 }) { e2e in
            let destination = try await e2e.configureDestination()
            let connection = try #require(try await e2e.api.expect(200, .GET, "/v1/connections").array.first?["id"] as? String)
            try await e2e.admin.send(.POST, "/emulator/credentials", json: ["password": "rotated-pwTOKEN123"])
            let ids = e2e.emulator.seededContactIds
            try await e2e.post(ids.map { xdmProfile(id: $0, lastName: "AfterPause") })
            _ = try await self.waitForStatus("authentication_failed", e2e, destination)
            try await Task.sleep(for: .seconds(4))
            // The org is busy when delivery resumes: every write meets a locked row at first.
            try await e2e.admin.setFaults(["lockRowRate": 1])
            try await e2e.api.expect(200, .PUT, "/v1/connections/\(connection)", json: [
                "name": "Emulated org", "loginUrl": e2e.emulator.baseURL,
                "auth": ["type": "password", "username": "integration@emulator.sfdest", "password": "rotated-pw", "securityToken": "TOKEN123",
                         "clientId": "sfdest-emulator-consumer-key", "clientSecret": EndToEnd.clientSecret],
            ] as [String: Any])
            var sawRetry = false
            for _ in 0..<500 where !sawRetry {
                let state = try await e2e.api.expect(200, .GET, "/v1/destinations/\(destination)/records/\(ids[0])").object
                let code = (state["lastError"] as? [String: Any])?["code"] as? String
                guard code != "RETRY_EXHAUSTED" else {
                    Issue.record("the first error after a long pause exhausted the record")
                    break
                }
                sawRetry = code == "UNABLE_TO_LOCK_ROW"
                if !sawRetry { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(sawRetry, "the record never met the locked row")
            try await e2e.admin.setFaults(["lockRowRate": 0])
            try await e2e.waitUntilDelivered(destination, timeout: .seconds(30))
            let groups = try await e2e.api.expect(200, .GET, "/v1/destinations/\(destination)/failures").object["groups"] as? [[String: Any]] ?? []
            #expect(groups.isEmpty, "records failed after the pause: \(groups)")
            for id in ids {
                #expect(try await e2e.admin.record(id)?["LastName"] as? String == "AfterPause")
            }
        }
    }

    @Test func recordsFailingTransientlyPastTheRetentionWindowFailWithRetryExhausted() async throws {
        try await EndToEnd.with(contacts: 5, configure: { $0.delivery.retention = 1 }) { e2e in
            let destination = try await e2e.configureDestination()
            try await e2e.admin.setFaults(["lockRowRate": 1])
            let ids = e2e.emulator.seededContactIds
            try await e2e.post(ids.map { xdmProfile(id: $0, lastName: "Locked") })
            try await e2e.waitUntilDelivered(destination, timeout: .seconds(30))
            let groups = try await e2e.api.expect(200, .GET, "/v1/destinations/\(destination)/failures").object["groups"] as? [[String: Any]] ?? []
            let exhausted = try #require(groups.first { $0["code"] as? String == "RETRY_EXHAUSTED" })
            #expect(exhausted["count"] as? Int == 5)
            #expect(String(describing: exhausted["message"] ?? "").contains("UNABLE_TO_LOCK_ROW"))
            let state = try await e2e.api.expect(200, .GET, "/v1/destinations/\(destination)/records/\(ids[0])").object
            #expect((state["lastError"] as? [String: Any])?["code"] as? String == "RETRY_EXHAUSTED")
            // The cause goes away; replay delivers them.
            try await e2e.admin.setFaults(["lockRowRate": 0])
            let replay = try await e2e.api.expect(200, .POST, "/v1/destinations/\(destination)/failures/retry", json: ["codes": ["RETRY_EXHAUSTED"]])
            #expect(replay.object["requeued"] as? Int == 5)
            try await e2e.waitUntilDelivered(destination)
            for id in ids {
                #expect(try await e2e.admin.record(id)?["LastName"] as? String == "Locked")
            }
        }
    }
}

/// The reason a destination shows for its delivery status ("" when none).
func deliveryReason(_ destination: [String: Any]) -> String {
    guard let delivery = destination["delivery"] as? [String: Any], let reason = delivery["reason"] as? String else { return "" }
    return reason
}
