import AsyncHTTPClient
import Foundation
import Testing

@Suite("Sessions, API allowance and faults")
struct AccessAndFaultTests {
    @Test("every authenticated call counts one in Sforce-Limit-Info")
    func limitHeader() async throws {
        try await withEmulator { org in
            let token = try await org.accessToken()
            let first = try await org.rest(.GET, "/sobjects/Contact/describe", token: token)
            #expect(first.limitInfo == "api-usage=1/15000")
            let second = try await org.rest(.GET, "/limits/", token: token)
            #expect(second.limitInfo == "api-usage=2/15000")
            let daily = try #require(second.object["DailyApiRequests"] as? [String: Any])
            #expect(daily["Max"] as? Int == 15000)
            #expect(daily["Remaining"] as? Int == 14998)
            let failed = try await org.rest(.GET, "/sobjects/Nothing/describe", token: token)
            #expect(failed.status == 404)
            #expect(failed.limitInfo == "api-usage=3/15000")
        }
    }

    @Test("at the allowance calls answer REQUEST_LIMIT_EXCEEDED until it is raised or the day restored")
    func requestLimit() async throws {
        try await withEmulator { org in
            let token = try await org.accessToken()
            try await org.setFaults(["apiLimit": 2])
            #expect(try await org.rest(.GET, "/limits/", token: token).status == 200)
            #expect(try await org.rest(.GET, "/limits/", token: token).status == 200)
            let refused = try await org.rest(.GET, "/limits/", token: token)
            #expect(refused.status == 403)
            #expect(refused.errorCode == "REQUEST_LIMIT_EXCEEDED")
            #expect(refused.array.first?["message"] as? String == "TotalRequests Limit exceeded.")
            #expect(refused.limitInfo == "api-usage=2/2")

            try await org.setFaults(["apiLimit": 3])
            #expect(try await org.rest(.GET, "/limits/", token: token).limitInfo == "api-usage=3/3")
            #expect(try await org.rest(.GET, "/limits/", token: token).status == 403)
            try await org.setFaults(["apiUsed": 0])
            #expect(try await org.rest(.GET, "/limits/", token: token).limitInfo == "api-usage=1/3")
        }
    }

    @Test("missing, unknown, expired and TTL-ended sessions answer 401 INVALID_SESSION_ID")
    func sessions() async throws {
        try await withEmulator { org in
            for token in [nil, "00Dbogus!token"] as [String?] {
                let answer = try await org.rest(.GET, "/limits/", token: token)
                #expect(answer.status == 401)
                #expect(answer.errorCode == "INVALID_SESSION_ID")
                #expect(answer.array.first?["message"] as? String == "Session expired or invalid")
            }
            let token = try await org.accessToken()
            #expect(try await org.rest(.GET, "/limits/", token: token).status == 200)
            #expect(try await org.admin(.POST, "/sessions/expire").status == 204)
            #expect(try await org.rest(.GET, "/limits/", token: token).status == 401)

            // The lifetime is checked at each call against the token's age: one the call fits in
            // however loaded the machine, then one the token has outlived.
            try await org.setFaults(["tokenTtlSeconds": 120])
            let shortLived = try await org.accessToken()
            #expect(try await org.rest(.GET, "/limits/", token: shortLived).status == 200)
            try await org.setFaults(["tokenTtlSeconds": 0.05])
            try await Task.sleep(for: .milliseconds(100))
            #expect(try await org.rest(.GET, "/limits/", token: shortLived).status == 401)
            try await org.setFaults(["tokenTtlSeconds": NSNull()])
            #expect(try await org.rest(.GET, "/limits/", token: shortLived).status == 200)
        }
    }

    @Test("serverUnavailableRate 1 answers 503 SERVER_UNAVAILABLE to every REST call")
    func serverUnavailable() async throws {
        try await withEmulator { org in
            let token = try await org.accessToken()
            try await org.setFaults(["serverUnavailableRate": 1.0])
            for _ in 0..<3 {
                let answer = try await org.rest(.GET, "/limits/", token: token)
                #expect(answer.status == 503)
                #expect(answer.errorCode == "SERVER_UNAVAILABLE")
            }
            // The token endpoint is not a REST call.
            #expect(try await org.requestToken(form: org.passwordForm()).status == 200)
            try await org.setFaults(["serverUnavailableRate": 0])
            #expect(try await org.rest(.GET, "/limits/", token: token).status == 200)
        }
    }

    @Test("latencyMs delays REST calls")
    func latency() async throws {
        try await withEmulator { org in
            let token = try await org.accessToken()
            try await org.setFaults(["latencyMs": 250])
            let started = ContinuousClock.now
            #expect(try await org.rest(.GET, "/limits/", token: token).status == 200)
            #expect(ContinuousClock.now - started >= .milliseconds(250))
        }
    }

    @Test("dropConnectionRate 1 closes the connection without an answer")
    func dropConnection() async throws {
        try await withEmulator { org in
            let token = try await org.accessToken()
            try await org.setFaults(["dropConnectionRate": 1.0])
            await #expect(throws: (any Error).self) {
                _ = try await org.rest(.GET, "/limits/", token: token)
            }
            try await org.setFaults(["dropConnectionRate": 0])
            #expect(try await org.rest(.GET, "/limits/", token: token).status == 200)
        }
    }

    @Test("faults read back, update partially, and refuse unknown keys and bad values")
    func faultsAdmin() async throws {
        try await withEmulator { org in
            let defaults = try await org.admin(.GET, "/faults").object
            #expect(defaults["apiLimit"] as? Int == 15000)
            #expect(defaults["apiUsed"] as? Int == 0)
            #expect(defaults["tokenTtlSeconds"] is NSNull)
            #expect(defaults["ipRestricted"] as? Bool == false)
            let updated = try await org.admin(.POST, "/faults", json: ["lockRowRate": 0.05, "latencyMs": 10])
            #expect(updated.status == 200)
            #expect(updated.object["lockRowRate"] as? Double == 0.05)
            #expect(updated.object["latencyMs"] as? Int == 10)
            #expect(updated.object["apiLimit"] as? Int == 15000)
            #expect(try await org.admin(.POST, "/faults", json: ["chaos": 1]).status == 400)
            #expect(try await org.admin(.POST, "/faults", json: ["lockRowRate": 1.5]).status == 400)
            #expect(try await org.admin(.POST, "/faults", json: ["ipRestricted": "yes"]).status == 400)
            // A refused update changes nothing.
            #expect(try await org.admin(.POST, "/faults", json: ["latencyMs": 99, "bogus": true]).status == 400)
            #expect(try await org.admin(.GET, "/faults").object["latencyMs"] as? Int == 10)
        }
    }
}
