import EmulatorAdminClient
import Foundation
import Testing

/// `/emulator/stats` counts each fault when it strikes, so a test can prove that the trouble it
/// configured really happened, and shows the REST calls being served right now.
@Suite("Admin API: faults struck and calls in flight")
struct FaultCountTests {
    @Test("each fault kind is counted once per call or record it strikes, and nowhere else")
    func everyFaultKindIsCounted() async throws {
        try await withEmulator(contacts: 3) { org in
            let admin = EmulatorAdminClient(baseURL: org.baseURL)
            let token = try await org.accessToken()
            let ids = org.emulator.seededContactIds
            let zero = try await admin.stats().faultsStruck
            #expect(zero == FaultsStruck())

            // Two calls delayed, one of them spiked.
            try await org.setFaults(["latencyMs": 1, "latencySpikeRate": 1.0, "latencySpikeMs": 1])
            _ = try await org.rest(.GET, "/limits/", token: token)
            try await org.setFaults(["latencySpikeRate": 0])
            _ = try await org.rest(.GET, "/limits/", token: token)
            try await org.setFaults(["latencyMs": 0])
            // Unknown tokens and the absence of one are no fault.
            _ = try await org.rest(.GET, "/limits/", token: nil)
            _ = try await org.rest(.GET, "/limits/", token: "not-a-token")

            try await org.setFaults(["dropConnectionRate": 1.0])
            _ = try? await org.rest(.GET, "/limits/", token: token)
            try await org.setFaults(["dropConnectionRate": 0, "serverUnavailableRate": 1.0])
            #expect(try await org.rest(.GET, "/limits/", token: token).status == 503)
            try await org.setFaults(["serverUnavailableRate": 0, "lockRowRate": 1.0])
            _ = try await org.rest(.PATCH, "/composite/sobjects", json: ["records": [
                ["attributes": ["type": "Contact"], "id": ids[0], "Title": "A"],
                ["attributes": ["type": "Contact"], "id": ids[1], "Title": "B"],
            ]], token: token)
            try await org.setFaults(["lockRowRate": 0, "apiLimit": 0])
            #expect(try await org.rest(.GET, "/limits/", token: token).status == 403)
            try await org.setFaults(["apiLimit": 15_000, "ipRestricted": true])
            #expect(try await org.requestToken(form: org.passwordForm()).status == 400)
            try await org.setFaults(["ipRestricted": false, "passwordFlowDisabled": true])
            #expect(try await org.requestToken(form: org.passwordForm()).status == 400)
            // Wrong credentials are refused for what they are, not by the fault.
            #expect(try await org.requestToken(form: org.passwordForm(password: "wrong")).status == 400)
            try await org.setFaults(["passwordFlowDisabled": false, "tokenTtlSeconds": 0])
            #expect(try await org.rest(.GET, "/limits/", token: token).status == 401)
            try await org.setFaults(["tokenTtlSeconds": NSNull()])
            try await org.setFaults(["holdRestCalls": true])
            let held = Task { try await org.rest(.GET, "/limits/", token: nil).status }
            #expect(try await Self.callsInFlight(admin) == 1)
            try await org.setFaults(["holdRestCalls": false])
            #expect(try await held.value == 401)

            let struck = try await admin.stats().faultsStruck
            #expect(struck == FaultsStruck(latency: 2, latencySpike: 1, dropConnection: 1, serverUnavailable: 1, lockRow: 2, sessionExpired: 1, requestLimitExceeded: 1, ipRestricted: 1, passwordFlowDisabled: 1, held: 1))
            #expect(struck.struck(byFaultKey: "lockRowRate") == 2)
            #expect(struck.struck(byFaultKey: "tokenTtlSeconds") == 1)
            #expect(struck.struck(byFaultKey: "apiUsed") == nil)

            #expect(try await org.admin(.POST, "/stats/reset").status == 204)
            #expect(try await admin.stats().faultsStruck == zero)
        }
    }

    @Test("tokens presented and tokens refused for an ended session are each counted once")
    func tokensPresentedAndRefused() async throws {
        try await withEmulator { org in
            let admin = EmulatorAdminClient(baseURL: org.baseURL)
            let first = try await org.accessToken()
            let second = try await org.accessToken()
            var stats = try await admin.stats()
            #expect(stats.tokensIssued == 2 && stats.tokensPresented == 0 && stats.tokensRefused == 0)
            // Presented twice, counted once; a token never issued is neither.
            _ = try await org.rest(.GET, "/limits/", token: first)
            _ = try await org.rest(.GET, "/limits/", token: first)
            _ = try await org.rest(.GET, "/limits/", token: "not-a-token")
            stats = try await admin.stats()
            #expect(stats.tokensPresented == 1 && stats.tokensRefused == 0)
            // Sessions end: the first token refused twice is one refused token; the second token,
            // first presented now, is both presented and refused.
            try await org.setFaults(["tokenTtlSeconds": 0])
            #expect(try await org.rest(.GET, "/limits/", token: first).status == 401)
            #expect(try await org.rest(.GET, "/limits/", token: first).status == 401)
            #expect(try await org.rest(.GET, "/limits/", token: second).status == 401)
            try await org.setFaults(["tokenTtlSeconds": NSNull()])
            stats = try await admin.stats()
            #expect(stats.tokensPresented == 2 && stats.tokensRefused == 2)
            #expect(stats.faultsStruck.sessionExpired == 3)
        }
    }

    @Test("holdRestCalls keeps a call in flight, shown by restCallsInFlight, until it is turned off")
    func callsInFlight() async throws {
        try await withEmulator { org in
            let admin = EmulatorAdminClient(baseURL: org.baseURL)
            let token = try await org.accessToken()
            #expect(try await admin.stats().restCallsInFlight == 0)
            try await org.setFaults(["holdRestCalls": true])
            let call = Task { try await org.rest(.GET, "/limits/", token: token).status }
            #expect(try await Self.callsInFlight(admin) == 1)
            // Held: still in flight a while later, and a reset of the counters leaves the gauge alone.
            try await Task.sleep(for: .milliseconds(100))
            #expect(try await org.admin(.POST, "/stats/reset").status == 204)
            #expect(try await admin.stats().restCallsInFlight == 1)
            try await org.setFaults(["holdRestCalls": false])
            #expect(try await call.value == 200)
            #expect(try await admin.stats().restCallsInFlight == 0)
            // The hold struck at admission, before the reset.
            #expect(try await admin.stats().faultsStruck.held == 0)
        }
    }

    @Test("a record in two collection writes at once is logged as an overlapping write; one after the other is not")
    func overlappingWrites() async throws {
        try await withEmulator(contacts: 3) { org in
            let admin = EmulatorAdminClient(baseURL: org.baseURL)
            let token = try await org.accessToken()
            let ids = org.emulator.seededContactIds
            func body(_ records: [String], name: String) -> [String: Any] {
                ["allOrNone": false, "records": records.map { ["attributes": ["type": "Contact"], "Id": $0, "LastName": name] }]
            }
            // One after the other: no overlap.
            #expect(try await org.rest(.PATCH, "/composite/sobjects", json: body([ids[0]], name: "A"), token: token).status == 200)
            #expect(try await org.rest(.PATCH, "/composite/sobjects", json: body([ids[0]], name: "B"), token: token).status == 200)
            #expect(try await admin.stats().overlappingWrites == 0)

            // Two held at once, sharing one record (its 15-character Id in the second): one overlap.
            try await org.setFaults(["holdRestCalls": true])
            let first = Task { try await org.rest(.PATCH, "/composite/sobjects", json: body([ids[0], ids[1]], name: "C"), token: token).status }
            #expect(try await Self.callsInFlight(admin) == 1)
            let second = Task { try await org.rest(.PATCH, "/composite/sobjects", json: body([String(ids[1].prefix(15)), ids[2]], name: "D"), token: token).status }
            let deadline = ContinuousClock.now + .seconds(20)
            while try await admin.stats().restCallsInFlight < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            try await org.setFaults(["holdRestCalls": false])
            #expect(try await first.value == 200)
            #expect(try await second.value == 200)
            let stats = try await admin.stats()
            #expect(stats.overlappingWrites == 1)
            #expect(stats.overlappingRecords == [String(ids[1].prefix(15))])
        }
    }

    /// The emulator's calls in flight once there is one (0 if none shows within 20 s).
    static func callsInFlight(_ admin: EmulatorAdminClient) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            let seen = try await admin.stats().restCallsInFlight
            if seen > 0 { return seen }
            try await Task.sleep(for: .milliseconds(5))
        }
        return 0
    }
}
