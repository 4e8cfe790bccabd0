import Logging
import SfdestBasics
import SfdestTestSupport
import Testing

@testable import SalesforceAPI

@Suite("Outbound host policy")
struct OutboundPolicyTests {
    static let strict = OutboundHostPolicy.salesforceOnly
    static let withLoopback = OutboundHostPolicy.salesforceAndLoopback

    @Test("Salesforce's own hosts are accepted", arguments: [
        "login.salesforce.com", "test.salesforce.com", "acme.my.salesforce.com", "acme--uat.sandbox.my.salesforce.com",
        "na1.salesforce.com", "acme.lightning.force.com", "acme.my.salesforce.mil", "acme.cloudforce.com",
        "acme.my.sfcrmproducts.cn", "acme.my.salesforce-setup.com", "acme--c.vf.visualforce.com", "acme.database.com",
        "LOGIN.Salesforce.COM", "login.salesforce.com.",
    ])
    func salesforceHosts(host: String) {
        #expect(Self.strict.salesforceHostProblem(host) == nil)
    }

    @Test("look-alikes and other hosts are refused, saying how to allow one", arguments: [
        "login.salesforce.com.evil.com", "evilsalesforce.com", "salesforce.com-evil.com", "xforce.com", "evil.com",
        "my-salesforce.com", "salesforce.co", "metadata.google.internal", "api.localhost",
    ])
    func lookAlikes(host: String) throws {
        let problem = try #require(Self.strict.salesforceHostProblem(host))
        #expect(problem.contains("SFDEST_ALLOWED_HOSTS"))
        #expect(Self.withLoopback.salesforceHostProblem(host) != nil)
    }

    @Test("a percent-escaped host is refused: decoded it would pass, rebuilt it goes elsewhere", arguments: [
        "https://evil.com%2F.salesforce.com", "https://evil.com%3F.salesforce.com", "https://evil.com%23.my.salesforce.com",
        "https://10.0.0.5%2F.force.com", "https://login%2Esalesforce.com", "https://[fe80::1%25eth0]",
    ])
    func escapedHosts(url: String) throws {
        #expect(throws: SalesforceError.self) { try LoginURLRules.baseURL(url, role: "loginUrl", policy: Self.withLoopback) }
        // The measure can pass: the same URLs unescaped either pass or fail on their own merits.
        #expect(try LoginURLRules.baseURL("https://acme.my.salesforce.com", role: "loginUrl", policy: Self.withLoopback) == "https://acme.my.salesforce.com")
    }

    @Test("every way of writing a loopback address is loopback, refused unless sfdest listens on loopback", arguments: [
        "127.0.0.1", "127.1", "0x7f.1", "0x7f000001", "2130706433", "0177.0.0.1", "[::ffff:127.0.0.1]", "::ffff:7f00:1",
        "[::1]", "0:0:0:0:0:0:0:1", "localhost", "LOCALHOST", "localhost.",
    ])
    func loopbackForms(host: String) throws {
        #expect(OutboundHostPolicy.isLoopback(host: host))
        let problem = try #require(Self.strict.salesforceHostProblem(host))
        #expect(problem.contains("loopback"))
        #expect(Self.withLoopback.salesforceHostProblem(host) == nil)
    }

    @Test("private, link-local, metadata and other IP literals are refused as login hosts", arguments: [
        "10.0.0.5", "172.16.0.1", "172.31.255.255", "192.168.1.1", "100.64.0.1", "169.254.169.254", "0xa9fea9fe",
        "2852039166", "0.0.0.0", "0", "[::]", "[fe80::1]", "[fd00:ec2::254]", "[fc00::1]", "8.8.8.8", "[2001:db8::1]",
        "[::ffff:10.0.0.1]", "224.0.0.1",
    ])
    func addressLiterals(host: String) throws {
        let problem = try #require(Self.withLoopback.salesforceHostProblem(host))
        #expect(problem.contains("IP address") || problem.contains("not a Salesforce host"))
        #expect(!OutboundHostPolicy.isLoopback(host: host))
    }

    @Test("addresses are classified as the resolver reads them", arguments: [
        ("127.0.0.1", IPAddressLiteral.Scope.loopback), ("0x7f.1", .loopback), ("2130706433", .loopback),
        ("[::ffff:127.0.0.1]", .loopback), ("::1", .loopback), ("10.1.2.3", .privateNetwork), ("012.1.2.3", .privateNetwork),
        ("172.20.0.1", .privateNetwork), ("172.32.0.1", .global), ("192.168.0.1", .privateNetwork), ("100.127.255.255", .privateNetwork),
        ("100.128.0.1", .global), ("169.254.169.254", .cloudMetadata), ("169.254.1.1", .linkLocal), ("0.0.0.0", .unspecified),
        ("::", .unspecified), ("fe80::1%eth0", .linkLocal), ("fd00:ec2::254", .cloudMetadata), ("fd12::1", .privateNetwork),
        ("ff02::1", .multicast), ("239.1.1.1", .multicast), ("255.255.255.255", .reserved), ("93.184.216.34", .global), ("64:ff9b::5db8:d822", .global), ("64:ff9b::a00:5", .privateNetwork), ("2002:a9fe:a9fe::1", .cloudMetadata),
        ("2606:4700::1111", .global), ("::ffff:169.254.169.254", .cloudMetadata),
    ])
    func scopes(host: String, scope: IPAddressLiteral.Scope) throws {
        let address = try #require(IPAddressLiteral(host: host))
        #expect(address.scope == scope)
    }

    @Test("host names and malformed numbers are not addresses", arguments: [
        "login.salesforce.com", "1.2.3.4.5", "256.1.1.1", "1.2.3.256", "1..1", "::1::", "12345::1", "1.2.3.4x", "",
    ])
    func notAddresses(host: String) {
        #expect(IPAddressLiteral(host: host) == nil)
    }

    @Test("the service's listen host decides loopback: 0.0.0.0, :: and real interfaces are not loopback", arguments: [
        ("127.0.0.1", true), ("::1", true), ("localhost", true), ("0.0.0.0", false), ("::", false),
        ("192.168.1.10", false), ("sfdest.acme.internal", false),
    ])
    func listenHost(host: String, loopback: Bool) throws {
        let policy = try OutboundHostPolicy(listenHost: host, environment: [:])
        #expect(policy.allowsLoopback == loopback)
        #expect((policy.salesforceHostProblem("127.0.0.1") == nil) == loopback)
        #expect(policy.salesforceHostProblem("login.salesforce.com") == nil)
    }

    @Test("SFDEST_ALLOWED_HOSTS lets exact hosts and *.suffix subdomains in, and nothing that merely ends alike")
    func allowedHosts() throws {
        let policy = try OutboundHostPolicy(
            listenHost: "0.0.0.0", environment: ["SFDEST_ALLOWED_HOSTS": "sf-proxy.acme.internal, *.acme-sf.example ,10.20.0.7"]
        )
        #expect(policy.salesforceHostProblem("sf-proxy.acme.internal") == nil)
        #expect(policy.salesforceHostProblem("SF-PROXY.acme.internal") == nil)
        #expect(policy.salesforceHostProblem("eu.acme-sf.example") == nil)
        #expect(policy.salesforceHostProblem("10.20.0.7") == nil)
        #expect(policy.salesforceHostProblem("acme-sf.example") != nil)
        #expect(policy.salesforceHostProblem("evilacme-sf.example") != nil)
        #expect(policy.salesforceHostProblem("other.acme.internal") != nil)
        #expect(policy.salesforceHostProblem("10.20.0.8") != nil)
        #expect(policy.salesforceHostProblem("127.0.0.1") != nil)
    }

    @Test("a malformed SFDEST_ALLOWED_HOSTS entry is named", arguments: ["*", "*.com", "https://proxy.example", "a_b.example", "proxy.example/x", "-bad.example"])
    func badAllowedHosts(entry: String) {
        #expect(throws: OutboundHostPolicyError(entry: entry)) {
            _ = try OutboundHostPolicy(listenHost: "127.0.0.1", environment: ["SFDEST_ALLOWED_HOSTS": entry])
        }
    }

    @Test("webhook addresses: private, link-local, metadata, unspecified and multicast are refused; loopback only on loopback")
    func webhookAddresses() async throws {
        for host in ["10.0.0.1", "192.168.1.20", "172.16.5.5", "100.64.1.1", "169.254.169.254", "169.254.10.10", "0.0.0.0",
                     "fd00:ec2::254", "fe80::1", "fc00::7", "::", "ff02::1", "224.0.0.251", "0xa9fea9fe", "::ffff:10.0.0.1",
                     // IPv6 prefixes that carry a private IPv4 address (NAT64, 6to4), site-local, benchmarking.
                     "64:ff9b::a00:5", "2002:a00:5::1", "fec0::1", "198.18.0.1", "192.0.0.8"] {
            guard case .failure(let refusal) = await Self.withLoopback.webhookAddresses(host: host) else {
                Issue.record("\(host) was accepted")
                continue
            }
            #expect(refusal.message.contains(host))
        }
        guard case .failure = await Self.withLoopback.webhookAddresses(host: "metadata.google.internal", requireResolution: false) else {
            Issue.record("metadata.google.internal was accepted")
            return
        }
        guard case .failure = await Self.strict.webhookAddresses(host: "127.0.0.1") else {
            Issue.record("loopback was accepted while not listening on loopback")
            return
        }
        guard case .failure = await Self.strict.webhookAddresses(host: "localhost") else {
            Issue.record("localhost was accepted while not listening on loopback")
            return
        }
        guard case .success(let addresses) = await Self.withLoopback.webhookAddresses(host: "localhost") else {
            Issue.record("localhost was refused while listening on loopback")
            return
        }
        #expect(addresses.allSatisfy { $0.scope == .loopback })
        guard case .success = await Self.strict.webhookAddresses(host: "93.184.216.34") else {
            Issue.record("a public address was refused")
            return
        }
    }

    @Test("a login URL on a host the policy refuses fails at construction, before any request")
    func clientRefusesHost() {
        for url in ["https://login.salesforce.com.evil.com", "https://169.254.169.254", "http://127.0.0.1:9"] {
            let configuration = SalesforceConnectionConfiguration(
                login: .loginURL(url), credentials: .clientCredentials(clientId: "id", clientSecret: "secret"), hostPolicy: Self.strict
            )
            do {
                _ = try SalesforceClient(configuration: configuration, httpClient: .shared, logger: Logger(label: "test"))
                Issue.record("\(url) was accepted")
            } catch let error as SalesforceError {
                #expect(error.code == "HOST_NOT_ALLOWED")
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
    }

    @Test("an instance_url the policy refuses is not called: the token answer is refused")
    func instanceURLChecked() async throws {
        // A second server stands for the internal address a hostile login host names.
        try await RecordingServer.with(answer: { _, _ in .init(status: 200, body: "[]") }) { inside in
            let port = inside.baseURL.split(separator: ":").last.map(String.init) ?? "9"
            let internalURL = "http://localhost:\(port)"
            try await RecordingServer.with(answer: { _, _ in
                .init(status: 200, headers: ["Content-Type": "application/json"], body: """
                {"access_token":"00D!stolen","instance_url":"\(internalURL)","token_type":"Bearer","issued_at":"1278448832702"}
                """)
            }) { login in
                // Loopback is refused (the service would not listen on loopback), but the login host is listed.
                let policy = try OutboundHostPolicy(allowedHosts: ["127.0.0.1"], allowsLoopback: false)
                let client = try SalesforceClient(
                    configuration: .init(
                        login: .loginURL(login.baseURL), credentials: .clientCredentials(clientId: "id", clientSecret: "secret"), hostPolicy: policy
                    ),
                    httpClient: .shared, logger: Logger(label: "test")
                )
                do {
                    _ = try await client.limits()
                    Issue.record("the instance URL \(internalURL) was accepted")
                } catch let error as SalesforceError {
                    #expect(error.code == "HOST_NOT_ALLOWED")
                    #expect(error.message.contains("instance_url"))
                }
                #expect(login.requests == ["POST /services/oauth2/token"])
                #expect(inside.requests.isEmpty)
            }
        }
    }
}
