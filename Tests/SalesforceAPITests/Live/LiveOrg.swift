import AsyncHTTPClient
import EmulatorAdminClient
import Logging
import SalesforceAPI
import SalesforceEmulator
import Testing

/// An emulated org on a loopback port chosen by the OS, its admin API, and clients logged in to it.
struct LiveOrg {
    static let clientId = "sfdest-emulator-consumer-key"
    static let clientSecret = "sfdest-emulator-consumer-secret"
    static let username = "integration@emulator.sfdest"
    static let password = "emulator-pw"
    static let securityToken = "TOKEN123"

    let emulator: RunningEmulator
    let admin: EmulatorAdminClient

    /// The default password credentials, with the security token given separately.
    static let passwordCredentials = SalesforceCredentials.password(
        username: username, password: password, securityToken: securityToken, clientId: clientId, clientSecret: clientSecret
    )

    /// Runs `body` against a fresh org and stops it afterwards, whatever happens.
    static func with<Result: Sendable>(
        contacts: Int = 5, leads: Int = 5, _ body: (LiveOrg) async throws -> Result
    ) async throws -> Result {
        try await SalesforceEmulator.with(EmulatorConfiguration(port: 0, contacts: contacts, leads: leads)) { emulator in
            try await body(LiveOrg(emulator: emulator, admin: EmulatorAdminClient(baseURL: emulator.baseURL, httpClient: .shared)))
        }
    }

    /// A new client (own token cache) logging in at the emulator's base URL.
    func client(
        _ credentials: SalesforceCredentials = LiveOrg.passwordCredentials,
        timeout: Duration = .seconds(10), apiVersion: String = "v66.0"
    ) throws -> SalesforceClient {
        try SalesforceClient(
            configuration: SalesforceConnectionConfiguration(
                login: .loginURL(self.emulator.baseURL), credentials: credentials,
                apiVersion: apiVersion, requestTimeout: timeout
            ),
            httpClient: .shared, logger: Logger(label: "test.salesforce")
        )
    }
}

/// The ``SalesforceError`` a call throws, or nil (recording an issue) when it throws nothing or something else.
func salesforceError(
    sourceLocation: SourceLocation = #_sourceLocation, _ call: () async throws -> some Any
) async -> SalesforceError? {
    do {
        _ = try await call()
        Issue.record("expected a SalesforceError, the call succeeded", sourceLocation: sourceLocation)
    } catch let error as SalesforceError {
        return error
    } catch {
        Issue.record("expected a SalesforceError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

/// Record Id helpers: the 3-character checksum Salesforce appends to a 15-character Id.
enum TestRecordID {
    static func checksum(_ fifteen: String) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345")
        let characters = Array(fifteen)
        return String((0..<3).map { chunk in
            var bits = 0
            for position in 0..<5 where characters[chunk * 5 + position].isUppercase {
                bits |= 1 << position
            }
            return alphabet[bits]
        })
    }

    /// A well-formed Contact Id no org holds.
    static let missingContact: String = {
        let fifteen = "003" + "Zz9Yy8Xx7Ww6"
        return fifteen + checksum(fifteen)
    }()

    /// The same Id with a checksum that does not match.
    static func withBadChecksum(_ id: String) -> String {
        let fifteen = String(id.prefix(15))
        let good = checksum(fifteen)
        return fifteen + (good == "AAA" ? "BBB" : "AAA")
    }
}
