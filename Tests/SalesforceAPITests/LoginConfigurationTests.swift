import SfdestBasics
import Testing

@testable import SalesforceAPI

@Suite("Login URL and API version")
struct LoginConfigurationTests {
    @Test("a My Domain prefix becomes https://{prefix}.my.salesforce.com")
    func customDomainURL() throws {
        #expect(try SalesforceLoginHost.customDomain("acme-dev-ed").validatedURL() == "https://acme-dev-ed.my.salesforce.com")
        #expect(try SalesforceLoginHost.customDomain("Acme2").validatedURL() == "https://acme2.my.salesforce.com")
    }

    @Test("a prefix with anything but letters, digits and hyphens is refused", arguments: [
        "", "acme.my.salesforce.com", "acme/evil", "ac me", "-acme", "acme-", "https://acme", "acmé",
    ])
    func badCustomDomain(prefix: String) {
        #expect(throws: SalesforceError.self) { try SalesforceLoginHost.customDomain(prefix).validatedURL() }
        do {
            _ = try SalesforceLoginHost.customDomain(prefix).validatedURL()
        } catch {
            #expect(error.code == "INVALID_CUSTOM_DOMAIN")
            #expect(error.kind == .configuration)
            #expect(error.disposition == .permanent)
        }
    }

    @Test("https login URLs are normalised without a trailing slash")
    func httpsLoginURL() throws {
        #expect(try SalesforceLoginHost.loginURL("https://login.salesforce.com/").validatedURL() == "https://login.salesforce.com")
        #expect(try SalesforceLoginHost.loginURL("https://test.salesforce.com").validatedURL() == "https://test.salesforce.com")
        let proxy = try OutboundHostPolicy(allowedHosts: ["proxy.example"], allowsLoopback: false)
        #expect(try SalesforceLoginHost.loginURL("https://proxy.example:8443/sf/").validatedURL(policy: proxy) == "https://proxy.example:8443/sf")
        // Not a Salesforce host, so only when listed.
        #expect(throws: SalesforceError.self) { try SalesforceLoginHost.loginURL("https://proxy.example:8443/sf/").validatedURL() }
    }

    @Test("http:// is accepted for loopback hosts", arguments: [
        ("http://127.0.0.1:8090", "http://127.0.0.1:8090"),
        ("http://127.10.20.30:1/", "http://127.10.20.30:1"),
        ("http://localhost:8090", "http://localhost:8090"),
        ("http://[::1]:8090", "http://[::1]:8090"),
    ])
    func loopbackHTTP(url: String, expected: String) throws {
        #expect(try SalesforceLoginHost.loginURL(url).validatedURL() == expected)
    }

    @Test("http:// is refused for hosts that are not loopback", arguments: [
        "http://login.salesforce.com", "http://10.0.0.5:8090", "http://128.0.0.1", "http://127.0.0.1.evil.com",
        "http://localhost.evil.com", "http://[::2]:80",
    ])
    func nonLoopbackHTTP(url: String) {
        do {
            _ = try SalesforceLoginHost.loginURL(url).validatedURL()
            Issue.record("\(url) was accepted")
        } catch {
            #expect(error.code == "INSECURE_LOGIN_URL")
            #expect(error.message.contains("not loopback"))
            #expect(error.hint?.contains("127.0.0.1") == true)
        }
    }

    @Test("other malformed login URLs are refused", arguments: [
        "login.salesforce.com", "ftp://login.salesforce.com", "https://user:pw@login.salesforce.com",
        "https://login.salesforce.com/?x=1", "",
    ])
    func malformedLoginURL(url: String) {
        #expect(throws: SalesforceError.self) { try SalesforceLoginHost.loginURL(url).validatedURL() }
    }

    @Test("the client refuses a non-loopback http login URL at construction")
    func clientRefusesInsecureLogin() {
        let configuration = SalesforceConnectionConfiguration(
            login: .loginURL("http://login.salesforce.com"),
            credentials: .clientCredentials(clientId: "id", clientSecret: "secret")
        )
        #expect(throws: SalesforceError.self) {
            _ = try SalesforceClient(configuration: configuration, httpClient: .shared, logger: .init(label: "test"))
        }
    }

    @Test("API versions are accepted as 66.0 or v66.0", arguments: [
        ("v66.0", "v66.0"), ("66.0", "v66.0"), ("V62.0", "v62.0"), (" 31.0 ", "v31.0"),
    ])
    func apiVersion(given: String, expected: String) throws {
        let configuration = SalesforceConnectionConfiguration(
            login: .customDomain("acme"), credentials: .clientCredentials(clientId: "id", clientSecret: "s"), apiVersion: given
        )
        #expect(try configuration.normalizedAPIVersion() == expected)
    }

    @Test("malformed API versions are refused", arguments: ["66", "v66", "v66.0.1", "latest", "v-1.0", "v66.00", ""])
    func badAPIVersion(given: String) {
        let configuration = SalesforceConnectionConfiguration(
            login: .customDomain("acme"), credentials: .clientCredentials(clientId: "id", clientSecret: "s"), apiVersion: given
        )
        #expect(throws: SalesforceError.self) { try configuration.normalizedAPIVersion() }
    }

    @Test("the default API version is v66.0")
    func defaultVersion() throws {
        let client = try SalesforceClient(
            configuration: .init(login: .customDomain("acme"), credentials: .clientCredentials(clientId: "i", clientSecret: "s")),
            httpClient: .shared, logger: .init(label: "test")
        )
        #expect(client.apiVersion == "v66.0")
        #expect(client.loginURL == "https://acme.my.salesforce.com")
        #expect(client.apiUsage == nil)
    }
}
