import Foundation
import SfdestBasics
import SfdestClient
import SfdestRuntime
import SfdestTestSupport
import Testing

/// Where sfdest sends credentials: never to a host an API caller moves a connection to without
/// giving the secrets again, never along a redirect, never to a host outside Salesforce's domains
/// (or the allowed list), never to an instance URL the login host names freely.
@Suite("Outbound safety")
struct OutboundSafetyTests {
    /// A token endpoint that would accept anything: what a hostile new login host looks like.
    static let acceptingToken = RecordingServer.Answer(
        status: 200, headers: ["Content-Type": "application/json"],
        body: #"{"access_token":"00D!x","instance_url":"http://127.0.0.1:9","token_type":"Bearer","issued_at":"1278448832702"}"#
    )
    /// A token endpoint refusing every grant (so that a test's connection is never moved to it).
    static let refusingToken = RecordingServer.Answer(
        status: 400, headers: ["Content-Type": "application/json"],
        body: #"{"error":"invalid_grant","error_description":"authentication failure"}"#
    )

    @Test func movingTheLoginHostWithoutTheSecretsIsRefusedAndNothingIsSentThere() async throws {
        try await ServerHarness.run { harness in
            // setup: a connection to the emulator, and a destination delivering through it
            let id = try await harness.createConnection()
            try await RecordingServer.with(answer: { _, _ in Self.refusingToken }) { newHost in
                // run: move the host, give no secrets (they would be reused and POSTed to newHost)
                let moved = try await harness.api.send(.PUT, "/v1/connections/\(id)", json: [
                    "name": "Emulator org", "loginUrl": newHost.baseURL,
                    "auth": ["type": "password", "username": "integration@emulator.sfdest", "clientId": "sfdest-emulator-consumer-key"],
                ])
                let renamedUser = try await harness.api.send(.PUT, "/v1/connections/\(id)", json: [
                    "name": "Emulator org", "loginUrl": harness.emulator.baseURL,
                    "auth": ["type": "password", "username": "someone-else@emulator.sfdest", "clientId": "sfdest-emulator-consumer-key"],
                ])
                let otherClient = try await harness.api.send(.PUT, "/v1/connections/\(id)", json: [
                    "name": "Emulator org", "loginUrl": harness.emulator.baseURL,
                    "auth": ["type": "password", "username": "integration@emulator.sfdest", "clientId": "another-consumer-key"],
                ])
                let customDomain = try await harness.api.send(.PUT, "/v1/connections/\(id)", json: [
                    "name": "Emulator org", "customDomain": "acme",
                    "auth": ["type": "password", "username": "integration@emulator.sfdest", "clientId": "sfdest-emulator-consumer-key"],
                ])

                // validate: refused, naming each secret; the new host heard nothing
                for reply in [moved, renamedUser, otherClient, customDomain] {
                    #expect(reply.status == 422)
                    #expect(reply.errorCode == "validation_failed")
                    #expect(Set(reply.detailFields) == ["auth.password", "auth.clientSecret"])
                    #expect(reply.detailMessages.allSatisfy { $0.contains("required again") })
                }
                #expect(moved.detailMessages.first?.contains("login URL changes") == true)
                #expect(renamedUser.detailMessages.first?.contains("username changes") == true)
                #expect(otherClient.detailMessages.first?.contains("client id changes") == true)
                #expect(newHost.requests.isEmpty)

                // With every secret given again, the move is the caller's: the new host is asked.
                var withSecrets = harness.connectionBody(password: "a-new-password")
                withSecrets["loginUrl"] = newHost.baseURL
                let given = try await harness.api.send(.PUT, "/v1/connections/\(id)", json: withSecrets)
                #expect(given.errorCode == "authentication_failed")
                #expect(newHost.requests == ["POST /services/oauth2/token"])
            }

            // validate: the connection still logs in at the emulator and delivers there
            let shown = try await harness.api.expect(200, .GET, "/v1/connections/\(id)")
            #expect(shown.object["loginUrl"] as? String == harness.emulator.baseURL)
            let destination = try await harness.api.createDestination(connectionId: id, objectType: "Contact", name: "Kept")
            try await harness.admin.addLongTextAreaFields(["crm_1_seg__c"], to: ["Contact"])
            try await harness.api.configureDestination(
                destination, mappings: ServerHarness.contactMappings, segments: [["segmentId": "seg-gold", "mappingId": "crm_1_seg"]]
            )
            let contact = harness.emulator.seededContactIds[0]
            try await harness.api.postProfiles([ServerHarness.profile(crmId: contact, lastName: "Kept")])
            try await harness.api.waitUntilDelivered(destination, timeout: .seconds(30))
            let record = try #require(try await harness.admin.record(contact))
            #expect(record["LastName"] as? String == "Kept")
        }
    }

    @Test func loginHostsOutsideSalesforceAreRefusedSayingHowToAllowThem() async throws {
        try await ServerHarness.run { harness in
            for url in ["https://login.salesforce.com.evil.com", "https://evilsalesforce.com", "https://169.254.169.254", "https://10.0.0.5:8443"] {
                var body = harness.connectionBody()
                body["loginUrl"] = url
                let reply = try await harness.api.send(.POST, "/v1/connections", json: body)
                #expect(reply.status == 422, "\(url)")
                #expect(reply.errorCode == "validation_failed", "\(url)")
                #expect(reply.detailFields == ["loginUrl"], "\(url)")
                #expect(reply.errorMessage.contains("SFDEST_ALLOWED_HOSTS"), "\(url)")
            }
            #expect((try await harness.api.send(.GET, "/v1/connections").json as? [Any])?.isEmpty == true)
        }
    }

    @Test func aHostInSFDESTALLOWEDHOSTSIsTried() async throws {
        try await ServerHarness.run(configure: { settings in
            settings.environment["SFDEST_ALLOWED_HOSTS"] = "sf-proxy.invalid"
        }) { harness in
            var body = harness.connectionBody()
            body["loginUrl"] = "https://sf-proxy.invalid"
            let reply = try await harness.api.send(.POST, "/v1/connections", json: body)
            // Allowed, so it was tried: the name does not resolve.
            #expect(reply.status == 502)
            #expect(reply.errorCode == "salesforce_unreachable")
        }
    }

    @Test(arguments: [301, 302, 303, 307, 308])
    func aRedirectIsNeverFollowed(status: Int) async throws {
        try await ServerHarness.run { harness in
            try await RecordingServer.with(answer: { _, _ in Self.acceptingToken }) { target in
                try await RecordingServer.with(answer: { _, path in
                    .init(status: status, headers: ["Location": "\(target.baseURL)\(path)"])
                }) { login in
                    // run
                    var body = harness.connectionBody()
                    body["loginUrl"] = login.baseURL
                    let reply = try await harness.api.send(.POST, "/v1/connections", json: body)

                    // validate
                    #expect(reply.status == 422)
                    #expect(reply.errorMessage.contains("the login host answered with a redirect (HTTP \(status)) to 127.0.0.1"))
                    #expect(reply.errorMessage.contains("sfdest does not follow redirects: give the final URL"))
                    #expect(login.requests == ["POST /services/oauth2/token"])
                    #expect(target.requests.isEmpty, "the redirect was followed: \(target.requests)")
                }
            }
        }
    }

    @Test func aBodyThatIsNotSalesforceJSONIsNotEchoed() async throws {
        try await ServerHarness.run { harness in
            let page = "<html>internal-admin-console secret=hunter2</html>"
            try await RecordingServer.with(answer: { _, _ in .init(status: 404, headers: ["Content-Type": "text/html"], body: page) }) { login in
                var body = harness.connectionBody()
                body["loginUrl"] = login.baseURL
                let reply = try await harness.api.send(.POST, "/v1/connections", json: body)
                #expect(reply.status == 422)
                #expect(!reply.text.contains("internal-admin-console"))
                #expect(!reply.text.contains("hunter2"))
                #expect(reply.errorMessage.contains("HTTP 404"))
                #expect(login.requests.count == 1)
            }
        }
    }

    @Test func anInstanceURLOutsideThePolicyIsRefusedBeforeAnyCall() async throws {
        try await ServerHarness.run { harness in
            try await harness.admin.setFaults(["instanceUrl": "http://169.254.169.254"])
            let before = try await harness.admin.stats()
            let reply = try await harness.api.send(.POST, "/v1/connections", json: harness.connectionBody())
            let after = try await harness.admin.stats()
            #expect(reply.status == 422)
            #expect(reply.errorMessage.contains("instance_url http://169.254.169.254"))
            #expect(after.tokenRequests == before.tokenRequests + 1)
            #expect(after.apiCalls == before.apiCalls)
            #expect((try await harness.api.send(.GET, "/v1/connections").json as? [Any])?.isEmpty == true)
        }
    }

    @Test func webhooksToPrivateLinkLocalAndMetadataAddressesAreRefused() async throws {
        try await ServerHarness.run { harness in
            let secret = "0123456789abcdef0123"
            for url in [
                "https://10.0.0.1/hook", "https://192.168.1.20/hook", "https://172.16.0.9/hook", "https://100.64.0.1/hook",
                "https://169.254.169.254/latest/meta-data", "http://169.254.169.254/", "https://[fd00:ec2::254]/",
                "https://[fe80::1]/hook", "https://0.0.0.0/hook", "https://metadata.google.internal/computeMetadata/v1",
                "https://0xa9fea9fe/", "https://[::ffff:10.0.0.1]/hook", "https://224.0.0.1/hook",
            ] {
                let reply = try await harness.api.send(.POST, "/v1/alerts/subscriptions", json: ["url": url, "secret": secret])
                #expect(reply.status == 422, "\(url)")
                #expect(reply.errorCode == "validation_failed", "\(url)")
                #expect(reply.detailFields == ["url"], "\(url)")
            }
            // Loopback is fine while the service listens on loopback (a local receiver).
            try await harness.api.expect(201, .POST, "/v1/alerts/subscriptions", json: ["url": "http://localhost:9/hook", "secret": secret])
            try await harness.api.expect(201, .POST, "/v1/alerts/subscriptions", json: ["url": "https://127.0.0.1:9/hook", "secret": secret])
        }
    }

    @Test func theRuntimeAllowsLoopbackOnlyWhenItListensOnLoopback() async throws {
        for (host, loopback) in [("127.0.0.1", true), ("::1", true), ("0.0.0.0", false), ("::", false), ("10.1.2.3", false)] {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-policy-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            var settings = ServiceHarness.testSettings(dataDirectory: directory)
            settings.host = host
            // Beyond loopback, plain HTTP needs to say a TLS proxy is in front.
            settings.insecureHTTP = !loopback
            settings.environment = ["SFDEST_ALLOWED_HOSTS": "sf-proxy.acme.internal"]
            let runtime = try SfdestRuntime(settings: settings, logger: CapturedLogs().logger(label: "test"))
            #expect(runtime.outboundHosts.allowsLoopback == loopback, "\(host)")
            #expect(runtime.outboundHosts.salesforceHostProblem("sf-proxy.acme.internal") == nil)
            #expect((runtime.outboundHosts.salesforceHostProblem("127.0.0.1") == nil) == loopback)
            // Never run, so its HTTP client is shut down here.
            try await runtime.services.httpClient.shutdown()
        }
        var settings = ServiceHarness.testSettings(dataDirectory: "/nonexistent")
        settings.environment = ["SFDEST_ALLOWED_HOSTS": "https://proxy.example"]
        #expect(throws: TuningError.self) { try settings.applyTuning() }
    }
}
