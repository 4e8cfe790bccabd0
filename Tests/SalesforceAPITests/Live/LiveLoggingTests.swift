import Logging
import NIOConcurrencyHelpers
import Testing

@testable import SalesforceAPI

/// Keeps every log line (message and metadata) in memory.
struct CapturingLogHandler: LogHandler {
    let lines: NIOLockedValueBox<[String]>
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let line = "\(event.level) \(event.message) \(event.metadata ?? [:]) \(self.metadata)"
        self.lines.withLockedValue { $0.append(line) }
    }
}

@Suite("Live: secrets stay out of logs")
struct LiveLoggingTests {
    @Test("at trace level, no password, secret, security token or access token is logged")
    func noSecretsInLogs() async throws {
        try await LiveOrg.with { org in
            let lines = NIOLockedValueBox<[String]>([])
            let logger = Logger(label: "test.secrets") { _ in CapturingLogHandler(lines: lines) }
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

            let text = lines.withLockedValue { $0.joined(separator: "\n") }
            #expect(!text.isEmpty)
            for secret in [LiveOrg.password, LiveOrg.securityToken, LiveOrg.clientSecret, "wrong-secret-value", session.accessToken] {
                #expect(!text.contains(secret), "\(secret) appears in the logs")
            }
        }
    }
}
