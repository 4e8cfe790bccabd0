import Foundation
import SfdestCLI
import SfdestClient
import SfdestTestSupport
import Testing

@Suite("sfdest keys against a running service")
struct KeysCLITests {
    @Test func createListAndRevokeThroughTheAPI() async throws {
        try await ServiceHarness.with(contacts: 1, leads: 0) { service in
            let cli = KeysCLI(client: service.api)

            // run
            let created = try await cli.create(name: "cli reader", permissions: ["view-destinations"], expiresAt: "2099-01-01T00:00:00Z")
            let material = try #require(created.split(separator: "\n").map(String.init).first { $0.hasPrefix("sfd_") })
            let id = try #require(created.split(separator: " ").dropFirst().first.map(String.init))
            let reader = ContractClient(baseURL: service.baseURL, apiKey: material)
            let before = try await reader.send(.GET, "/v1/destinations")
            let listed = try await cli.list(json: false)
            let revoked = try await cli.revoke(id: id)
            let after = try await reader.send(.GET, "/v1/destinations")
            let listedAfter = try await cli.list(json: false)

            // validate
            #expect(id.hasPrefix("key_"), "\(created)")
            #expect(created.contains("shown only now"))
            #expect(before.status == 200)
            #expect(listed.contains(id) && listed.contains("cli reader") && listed.contains("active"))
            #expect(!listed.contains(material))
            #expect(revoked.contains(id))
            #expect(after.status == 401)
            #expect(listedAfter.contains("revoked"))
            // The service's refusal is a message, not a crash.
            await #expect(throws: MonitoringCLI.Failure.self) {
                try await KeysCLI(client: reader).list(json: false)
            }
            await #expect(throws: MonitoringCLI.Failure.self) {
                try await cli.create(name: "bad", permissions: ["fly"], expiresAt: nil)
            }
        }
    }
}
