import Logging
import SfdestTestSupport
import Testing

@testable import SalesforceAPI

@Suite("Live: secrets stay out of logs")
struct LiveLoggingTests {
    @Test("at trace level, no password, secret, security token or access token is logged")
    func noSecretsInLogs() async throws {
        try await LiveOrg.with { org in
            let logs = CapturedLogs()
            let logger = logs.logger(label: "test.secrets")
            let client = try SalesforceClient(
                configuration: .init(login: .loginURL(org.emulator.baseURL), credentials: LiveOrg.passwordCredentials),
                httpClient: .shared, logger: logger
            )
            let session = try await client.authenticate()
            try await org.admin.expireSessions()
            _ = try await client.updateRecords([
                SObjectRecord(objectType: "Contact", id: org.emulator.seededContactIds[0], ["Title": "Logged?"]),
            ])
            let bad = try SalesforceClient(
                configuration: .init(login: .loginURL(org.emulator.baseURL), credentials: .clientCredentials(
                    clientId: LiveOrg.clientId, clientSecret: "wrong-secret-value"
                )),
                httpClient: .shared, logger: logger
            )
            _ = try? await bad.authenticate()

            let text = logs.text
            #expect(!text.isEmpty)
            for secret in [LiveOrg.password, LiveOrg.securityToken, LiveOrg.clientSecret, "wrong-secret-value", session.accessToken] {
                #expect(!text.contains(secret), "\(secret) appears in the logs")
            }
        }
    }
}
