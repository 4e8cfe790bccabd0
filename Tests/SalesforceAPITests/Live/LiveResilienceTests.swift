import SalesforceAPI
import Testing

@Suite("Live: tokens, limits and failures against the emulator")
struct LiveResilienceTests {
    @Test("an expired session gets exactly one new token and the call succeeds")
    func refreshOnInvalidSession() async throws {
        try await LiveOrg.with { org in
            let client = try org.client()
            _ = try await client.limits()
            let before = try await org.admin.stats()
            try await org.admin.expireSessions()
            let results = try await client.updateRecords([
                SObjectRecord(objectType: "Contact", id: org.emulator.seededContactIds[0], ["Title": "After expiry"]),
            ])
            #expect(results.map(\.success) == [true])
            let after = try await org.admin.stats()
            #expect(after.tokenRequests == before.tokenRequests + 1)
        }
    }

    @Test("50 concurrent calls after expiry share one new token")
    func concurrentRefreshIsSingleFlight() async throws {
        try await LiveOrg.with { org in
            let client = try org.client()
            _ = try await client.limits()
            try await org.admin.expireSessions()
            let before = try await org.admin.stats()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<50 { group.addTask { _ = try await client.limits() } }
                try await group.waitForAll()
            }
            #expect(try await org.admin.stats().tokenRequests == before.tokenRequests + 1)
        }
    }

    @Test("50 concurrent calls on a fresh client cause exactly one token request")
    func singleFlight() async throws {
        try await LiveOrg.with { org in
            let before = try await org.admin.stats()
            let client = try org.client()
            let ids = org.emulator.seededContactIds
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        let results = try await client.updateRecords([
                            SObjectRecord(objectType: "Contact", id: ids[index % ids.count], ["Title": .string("t\(index)")]),
                        ])
                        return results.allSatisfy(\.success)
                    }
                }
                for try await succeeded in group { #expect(succeeded) }
            }
            let after = try await org.admin.stats()
            #expect(after.tokenRequests == before.tokenRequests + 1)
            #expect(after.tokensIssued == before.tokensIssued + 1)
        }
    }

    @Test("a session refused again after a new token is reauthenticate")
    func secondUnauthorized() async throws {
        try await LiveOrg.with { org in
            try await org.admin.setFaults(["tokenTtlSeconds": 0])
            let client = try org.client()
            let error = await salesforceError { try await client.limits() }
            #expect(error?.code == "INVALID_SESSION_ID")
            #expect(error?.httpStatus == 401)
            #expect(error?.disposition == .reauthenticate)
        }
    }

    @Test("the limit header is read from live answers")
    func liveAPIUsage() async throws {
        try await LiveOrg.with { org in
            try await org.admin.setFaults(["apiLimit": 5000, "apiUsed": 100])
            let client = try org.client()
            #expect(client.apiUsage == nil)
            _ = try await client.updateRecords([
                SObjectRecord(objectType: "Contact", id: org.emulator.seededContactIds[0], ["Title": "x"]),
            ])
            let usage = try #require(client.apiUsage)
            #expect(usage.max == 5000)
            #expect(usage.used > 100)
            let stats = try await org.admin.stats()
            #expect(usage.used == stats.apiUsed)
            let limits = try await client.limits()
            #expect(limits.dailyApiRequests?.max == 5000)
            #expect(limits.dailyApiRequests.map { $0.max - $0.remaining } == client.apiUsage?.used)
        }
    }

    @Test("the API limit is throttled and asks for no new token")
    func throttled() async throws {
        try await LiveOrg.with { org in
            let client = try org.client()
            _ = try await client.authenticate()
            try await org.admin.setFaults(["apiLimit": 10, "apiUsed": 10])
            let before = try await org.admin.stats()
            let error = await salesforceError {
                try await client.updateRecords([
                    SObjectRecord(objectType: "Contact", id: org.emulator.seededContactIds[0], ["Title": "x"]),
                ])
            }
            #expect(error?.code == "REQUEST_LIMIT_EXCEEDED")
            #expect(error?.httpStatus == 403)
            #expect(error?.disposition == .throttled)
            #expect(try await org.admin.stats().tokenRequests == before.tokenRequests)
        }
    }

    @Test("an answer slower than the request timeout is retryLater")
    func timeout() async throws {
        try await LiveOrg.with { org in
            // The token endpoint has no latency fault, so the login is not what times out.
            let client = try org.client(timeout: .seconds(1))
            // Logging in is not what is tested: a login the loaded machine made slower than the
            // 1 s timeout is tried again.
            for attempt in 1...5 {
                do {
                    _ = try await client.authenticate()
                    break
                } catch let error as SalesforceError where error.code == "REQUEST_TIMEOUT" && attempt < 5 {
                    continue
                }
            }
            try await org.admin.setFaults(["latencyMs": 4000])
            let clock = ContinuousClock()
            let started = clock.now
            let error = await salesforceError { try await client.limits() }
            // Given up at the client's timeout, not after the org finally answered.
            #expect(clock.now - started < .seconds(3.5))
            #expect(error?.code == "REQUEST_TIMEOUT")
            #expect(error?.kind == .transport)
            #expect(error?.disposition == .retryLater)
            try await org.admin.setFaults(["latencyMs": 0])
        }
    }

    @Test("503 SERVER_UNAVAILABLE is retryLater")
    func serverUnavailable() async throws {
        try await LiveOrg.with { org in
            let client = try org.client()
            _ = try await client.authenticate()
            try await org.admin.setFaults(["serverUnavailableRate": 1.0])
            let error = await salesforceError {
                try await client.updateRecords([
                    SObjectRecord(objectType: "Contact", id: org.emulator.seededContactIds[0], ["Title": "x"]),
                ])
            }
            #expect(error?.httpStatus == 503)
            #expect(error?.disposition == .retryLater)
        }
    }

    @Test("a dropped connection is retryLater")
    func droppedConnection() async throws {
        try await LiveOrg.with { org in
            let client = try org.client()
            _ = try await client.authenticate()
            try await org.admin.setFaults(["dropConnectionRate": 1.0])
            let error = await salesforceError { try await client.limits() }
            #expect(error?.kind == .transport)
            #expect(error?.disposition == .retryLater)
        }
    }
}
