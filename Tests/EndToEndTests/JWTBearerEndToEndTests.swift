import EmulatorAdminClient
import Foundation
import SfdestClient
import SfdestTestSupport
import Testing

/// Delivery through a JWT bearer connection: the service signs a new assertion whenever it needs
/// a session, and says what to fix when Salesforce refuses one.
@Suite("End to end: the JWT bearer flow")
struct JWTBearerEndToEndTests {
    /// A JWT bearer connection to the emulator (its certificate uploaded) and an enabled Contact
    /// destination on it; returns (connection id, destination id).
    static func configure(_ e2e: EndToEnd, keys: JWTTestKeys) async throws -> (String, String) {
        try await e2e.admin.setJWTCertificate(keys.certificatePem)
        try await e2e.admin.addLongTextAreaFields(["crm_1_seg__c"], to: ["Contact"])
        let connection = try await e2e.api.expect(201, .POST, "/v1/connections", json: [
            "name": "JWT org", "loginUrl": e2e.emulator.baseURL,
            "auth": [
                "type": "jwtBearer", "clientId": "sfdest-emulator-consumer-key", "username": "integration@emulator.sfdest",
                "privateKeyPem": keys.pkcs1PrivateKeyPem,
            ] as [String: Any],
        ])
        #expect(connection.object["status"] as? String == "connected")
        let connectionId = try #require(connection.object["id"] as? String)
        let destination = try await e2e.api.createDestination(connectionId: connectionId)
        try await e2e.api.configureDestination(
            destination, mappings: ContractClient.mappings(["person.name.firstName": "FirstName"]),
            segments: [["segmentId": "seg-gold", "mappingId": "crm_1_seg"]]
        )
        return (connectionId, destination)
    }

    @Test func deliversAndSignsANewAssertionWhenTheSessionExpires() async throws {
        try await EndToEnd.with(contacts: 6) { e2e in
            let keys = try JWTTestKeys.shared()
            let (_, destination) = try await Self.configure(e2e, keys: keys)
            let ids = e2e.emulator.seededContactIds
            try await e2e.post(ids.prefix(3).enumerated().map { xdmProfile(id: $1, firstName: "First\($0)") })
            try await e2e.waitUntilDelivered(destination)
            for (index, id) in ids.prefix(3).enumerated() {
                #expect(try await e2e.admin.record(id)?["FirstName"] as? String == "First\(index)")
            }

            // Salesforce ends the session: the next batch is answered 401, the service signs a new
            // assertion (one token request) and the batch goes through.
            let before = try await e2e.admin.stats()
            try await e2e.admin.expireSessions()
            try await e2e.post(ids.dropFirst(3).enumerated().map { xdmProfile(id: $1, firstName: "Later\($0)") })
            try await e2e.waitUntilDelivered(destination)
            for (index, id) in ids.dropFirst(3).enumerated() {
                #expect(try await e2e.admin.record(id)?["FirstName"] as? String == "Later\(index)")
            }
            let after = try await e2e.admin.stats()
            #expect(after.tokenRequests == before.tokenRequests + 1)
            #expect(after.tokensIssued == before.tokensIssued + 1)
            let totals = try await e2e.runTotals(destination)
            #expect(totals["identitiesActivated"] == 6)
            #expect(totals["identitiesFailed"] == 0)
            for line in keys.pkcs1PrivateKeyPem.split(separator: "\n") where !line.hasPrefix("-----") {
                #expect(!e2e.logs.all.contains { $0.contains(line) })
            }
        }
    }

    @Test func aRefusedPreAuthorizationShowsTheFixOnTheConnection() async throws {
        try await EndToEnd.with(contacts: 2) { e2e in
            let keys = try JWTTestKeys.shared()
            let (connection, destination) = try await Self.configure(e2e, keys: keys)
            // An admin switches the app to "Admin approved users" without assigning the user's profile.
            try await e2e.admin.setConnectedApp(preAuthorized: false)
            try await e2e.admin.expireSessions()
            try await e2e.post([xdmProfile(id: e2e.emulator.seededContactIds[0], firstName: "Blocked")])

            let deadline = ContinuousClock.now + .seconds(30)
            var shown: [String: Any] = [:]
            while ContinuousClock.now < deadline {
                shown = try await e2e.api.expect(200, .GET, "/v1/connections/\(connection)").object
                if shown["status"] as? String == "authentication_failed" { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(shown["status"] as? String == "authentication_failed")
            let message = shown["statusMessage"] as? String ?? ""
            #expect(message.contains("user hasn't approved this consumer"), "\(message)")
            #expect(message.contains("Admin approved users are pre-authorized"), "\(message)")
            #expect(try await e2e.admin.record(e2e.emulator.seededContactIds[0])?["FirstName"] as? String != "Blocked")

            // The fix (pre-authorizing the user), then a PUT of the connection: delivery resumes.
            try await e2e.admin.setConnectedApp(preAuthorized: true)
            try await e2e.api.expect(200, .PUT, "/v1/connections/\(connection)", json: [
                "name": "JWT org", "loginUrl": e2e.emulator.baseURL,
                "auth": ["type": "jwtBearer", "clientId": "sfdest-emulator-consumer-key", "username": "integration@emulator.sfdest"] as [String: Any],
            ])
            try await e2e.waitUntilDelivered(destination)
            #expect(try await e2e.admin.record(e2e.emulator.seededContactIds[0])?["FirstName"] as? String == "Blocked")
        }
    }
}
