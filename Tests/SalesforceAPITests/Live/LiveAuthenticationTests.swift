import SalesforceAPI
import Testing

@Suite("Live: authentication against the emulator")
struct LiveAuthenticationTests {
    @Test("password flow with the security token given separately")
    func passwordWithSeparateToken() async throws {
        try await LiveOrg.with { org in
            let session = try await org.client().authenticate()
            #expect(session.instanceURL == org.emulator.baseURL)
            #expect(!session.description.contains("!"))
        }
    }

    @Test("password flow with the security token already appended")
    func passwordWithAppendedToken() async throws {
        try await LiveOrg.with { org in
            let client = try org.client(.password(
                username: LiveOrg.username, password: LiveOrg.password + LiveOrg.securityToken, securityToken: nil,
                clientId: LiveOrg.clientId, clientSecret: LiveOrg.clientSecret
            ))
            _ = try await client.authenticate()
        }
    }

    @Test("client credentials flow")
    func clientCredentials() async throws {
        try await LiveOrg.with { org in
            let client = try org.client(.clientCredentials(clientId: LiveOrg.clientId, clientSecret: LiveOrg.clientSecret))
            let session = try await client.authenticate()
            #expect(session.instanceURL == org.emulator.baseURL)
            let results = try await client.updateRecords([
                SObjectRecord(objectType: "Contact", id: org.emulator.seededContactIds[0], ["Title": "CTO"]),
            ])
            #expect(results.map(\.success) == [true])
        }
    }

    @Test("a wrong consumer key is invalid_client_id with a Consumer Key hint")
    func wrongClientId() async throws {
        try await LiveOrg.with { org in
            let client = try org.client(.password(
                username: LiveOrg.username, password: LiveOrg.password, securityToken: LiveOrg.securityToken,
                clientId: "not-the-key", clientSecret: LiveOrg.clientSecret
            ))
            let error = await salesforceError { try await client.authenticate() }
            #expect(error?.kind == .authentication)
            #expect(error?.code == "invalid_client_id")
            #expect(error?.message == "client identifier invalid")
            #expect(error?.disposition == .permanent)
            #expect(error?.hint?.contains("Consumer Key") == true)
        }
    }

    @Test("a wrong consumer secret is invalid_client with a Consumer Secret hint")
    func wrongClientSecret() async throws {
        try await LiveOrg.with { org in
            let client = try org.client(.clientCredentials(clientId: LiveOrg.clientId, clientSecret: "wrong"))
            let error = await salesforceError { try await client.authenticate() }
            #expect(error?.code == "invalid_client")
            #expect(error?.message == "invalid client credentials")
            #expect(error?.hint?.contains("Consumer Secret") == true)
        }
    }

    @Test("a wrong password or a missing security token is an authentication failure", arguments: [
        ("wrong-password", "TOKEN123" as String?), (LiveOrg.password, nil), ("emulator-pw", "WRONGTOKEN"),
    ])
    func wrongPassword(password: String, token: String?) async throws {
        try await LiveOrg.with { org in
            let client = try org.client(.password(
                username: LiveOrg.username, password: password, securityToken: token,
                clientId: LiveOrg.clientId, clientSecret: LiveOrg.clientSecret
            ))
            let error = await salesforceError { try await client.authenticate() }
            #expect(error?.code == "invalid_grant")
            #expect(error?.message == "authentication failure")
            #expect(error?.hint?.contains("security token") == true)
        }
    }

    @Test("an org that blocks the password flow answers authentication failure with the flow hint")
    func passwordFlowDisabled() async throws {
        try await LiveOrg.with { org in
            try await org.admin.setFaults(["passwordFlowDisabled": true])
            let error = await salesforceError { try await org.client().authenticate() }
            #expect(error?.code == "invalid_grant")
            #expect(error?.message == "authentication failure")
            #expect(error?.hint?.contains("username-password flow") == true)
            #expect(error?.hint?.contains("client credentials") == true)
            // The client credentials flow still works there.
            let other = try org.client(.clientCredentials(clientId: LiveOrg.clientId, clientSecret: LiveOrg.clientSecret))
            _ = try await other.authenticate()
        }
    }

    @Test("ip restricted names the allow-list fix")
    func ipRestricted() async throws {
        try await LiveOrg.with { org in
            try await org.admin.setFaults(["ipRestricted": true])
            let error = await salesforceError { try await org.client().authenticate() }
            #expect(error?.code == "invalid_grant")
            #expect(error?.message == "ip restricted")
            #expect(error?.hint?.contains("Network Access") == true)
            #expect(error?.disposition == .permanent)
        }
    }

    @Test("a token error during a REST call surfaces as the same typed error")
    func tokenErrorDuringCall() async throws {
        try await LiveOrg.with { org in
            let client = try org.client(.clientCredentials(clientId: LiveOrg.clientId, clientSecret: "wrong"))
            let error = await salesforceError { try await client.limits() }
            #expect(error?.kind == .authentication)
            #expect(error?.code == "invalid_client")
        }
    }
}
