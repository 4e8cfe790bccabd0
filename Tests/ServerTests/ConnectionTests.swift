import Foundation
import SfdestClient
import Testing

@Suite("Connections")
struct ConnectionTests {
    static let secrets = ["emulator-pw", "TOKEN123", "sfdest-emulator-consumer-secret"]

    @Test func createAuthenticatesAndNeverShowsOrStoresSecretsInTheClear() async throws {
        try await ServerHarness.run { harness in
            // run
            let created = try await harness.api.send(.POST, "/v1/connections", json: harness.connectionBody())
            let id = try #require(created.object["id"] as? String)
            let shown = try await harness.api.send(.GET, "/v1/connections/\(id)")
            let listed = try await harness.api.send(.GET, "/v1/connections")

            // validate
            #expect(created.status == 201)
            #expect(id.hasPrefix("conn_"))
            #expect(created.object["status"] as? String == "connected")
            #expect(created.object["name"] as? String == "Emulator org")
            #expect(created.object["instanceUrl"] as? String == harness.emulator.baseURL)
            #expect(created.object["loginUrl"] as? String == harness.emulator.baseURL)
            #expect(created.object["apiVersion"] as? String == "v66.0")
            #expect(created.object["createdAt"] as? String != nil)
            let auth = try #require(created.object["auth"] as? [String: Any])
            #expect(auth["type"] as? String == "password")
            #expect(auth["username"] as? String == "integration@emulator.sfdest")
            #expect(auth["clientId"] as? String == "sfdest-emulator-consumer-key")
            #expect(shown.status == 200)
            #expect(shown.object["id"] as? String == id)
            #expect(listed.array.map { $0["id"] as? String } == [id])
            // Something was logged: a capture that holds nothing would pass the checks below.
            #expect(!harness.logs.all.isEmpty)
            for secret in Self.secrets {
                for reply in [created, shown, listed] { #expect(!reply.text.contains(secret)) }
                #expect(!harness.logs.all.contains { $0.contains(secret) })
            }
            // The SQLite files hold the secrets sealed only.
            let files = try FileManager.default.contentsOfDirectory(atPath: harness.directory.path)
            #expect(files.contains("sfdest.sqlite"))
            for file in files {
                let bytes = try Data(contentsOf: harness.directory.appendingPathComponent(file))
                for secret in Self.secrets {
                    #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(file) holds \(secret)")
                }
            }
        }
    }

    @Test func wrongPasswordIsRefusedQuotingSalesforce() async throws {
        try await ServerHarness.run { harness in
            let reply = try await harness.api.send(.POST, "/v1/connections", json: harness.connectionBody(password: "wrong"))
            #expect(reply.status == 422)
            #expect(reply.errorCode == "authentication_failed")
            #expect(reply.errorMessage.contains("authentication failure"))
            #expect(reply.errorMessage.contains("invalid_grant"))
            #expect((try await harness.api.send(.GET, "/v1/connections").json as? [Any])?.isEmpty == true)
        }
    }

    @Test func ipRestrictionSaysToAllowListTheService() async throws {
        try await ServerHarness.run { harness in
            try await harness.admin.setFaults(["ipRestricted": true])
            let reply = try await harness.api.send(.POST, "/v1/connections", json: harness.connectionBody())
            #expect(reply.status == 422)
            #expect(reply.errorCode == "authentication_failed")
            #expect(reply.errorMessage.contains("ip restricted"))
            #expect(reply.errorMessage.contains("allow-list"))
        }
    }

    @Test func everyProblemIsListedAndInsecureLoginURLsAreRefused() async throws {
        try await ServerHarness.run { harness in
            // run
            let insecure = try await harness.api.send(.POST, "/v1/connections", json: [
                "name": "Plain", "loginUrl": "http://login.example.com",
                "auth": ["type": "clientCredentials", "clientId": "id", "clientSecret": "secret"],
            ])
            let empty = try await harness.api.send(.POST, "/v1/connections", json: ["auth": ["type": "jwtBearer"]])
            let both = try await harness.api.send(.POST, "/v1/connections", json: [
                "name": "Both", "customDomain": "acme", "loginUrl": "https://login.salesforce.com", "apiVersion": "latest",
                "auth": ["type": "password", "clientId": "id"],
            ])
            let wrongType = try await harness.api.send(.POST, "/v1/connections", json: ["name": "N", "auth": ["type": 3]])
            let notJSON = try await harness.api.send(.POST, "/v1/connections", text: "{name:")

            // validate
            #expect(insecure.status == 422)
            #expect(insecure.errorCode == "invalid_request")
            #expect(insecure.detailFields == ["loginUrl"])
            #expect(insecure.errorMessage.contains("loopback"))
            #expect(empty.status == 422)
            #expect(Set(empty.detailFields) == ["name", "customDomain", "auth.username", "auth.privateKeyPem", "auth.clientId"])
            #expect(empty.detailMessages.contains { $0.contains("RSA private key (PEM)") })
            #expect(Set(both.detailFields) == ["loginUrl", "apiVersion", "auth.username", "auth.password", "auth.clientSecret"])
            #expect(wrongType.status == 422)
            #expect(wrongType.detailFields == ["auth.type"])
            #expect(notJSON.status == 400)
            #expect(notJSON.errorCode == "malformed_json")
        }
    }

    @Test func unreachableLoginURLIsABadGateway() async throws {
        try await ServerHarness.run { harness in
            var body = harness.connectionBody()
            body["loginUrl"] = "http://127.0.0.1:1"
            let reply = try await harness.api.send(.POST, "/v1/connections", json: body)
            #expect(reply.status == 502)
            #expect(reply.errorCode == "salesforce_unreachable")
        }
    }

    @Test func updateKeepsSecretsLeftOutAndChecksNewOnes() async throws {
        try await ServerHarness.run { harness in
            // setup
            let id = try await harness.createConnection()

            // run
            let renamed = try await harness.api.send(.PUT, "/v1/connections/\(id)", json: [
                "name": "Renamed", "loginUrl": harness.emulator.baseURL,
                "auth": ["type": "password", "username": "integration@emulator.sfdest", "clientId": "sfdest-emulator-consumer-key"],
            ])
            let refused = try await harness.api.send(.PUT, "/v1/connections/\(id)", json: harness.connectionBody(password: "wrong"))
            let missing = try await harness.api.send(.PUT, "/v1/connections/conn_missing", json: harness.connectionBody())
            let shown = try await harness.api.send(.GET, "/v1/connections/\(id)")

            // validate
            #expect(renamed.status == 200)
            #expect(renamed.object["name"] as? String == "Renamed")
            #expect(refused.errorCode == "authentication_failed")
            #expect(missing.status == 404)
            #expect(shown.object["name"] as? String == "Renamed")
        }
    }

    @Test func deleteRefusesWhileADestinationUsesIt() async throws {
        try await ServerHarness.run { harness in
            // setup
            let destinationId = try await harness.createDestination()
            let destination = try await harness.api.send(.GET, "/v1/destinations/\(destinationId)")
            let used = try #require(destination.object["connectionId"] as? String)
            let unused = try await harness.createConnection()

            // run
            let conflict = try await harness.api.send(.DELETE, "/v1/connections/\(used)")
            let deleted = try await harness.api.send(.DELETE, "/v1/connections/\(unused)")
            let gone = try await harness.api.send(.GET, "/v1/connections/\(unused)")
            let again = try await harness.api.send(.DELETE, "/v1/connections/\(unused)")

            // validate
            #expect(conflict.status == 409)
            #expect(conflict.errorCode == "connection_in_use")
            #expect(conflict.errorMessage.contains(destinationId))
            #expect(deleted.status == 204)
            #expect(gone.status == 404)
            #expect(gone.errorCode == "connection_not_found")
            #expect(again.status == 404)
        }
    }
}
