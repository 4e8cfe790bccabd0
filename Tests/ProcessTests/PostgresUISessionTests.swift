import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import PostgresStore
import SfdestTestSupport
import Testing

/// Two `api` processes on one PostgreSQL database behind one address, as a load balancer without
/// sticky sessions sends a browser: signed in through one, the browser is signed in through both,
/// and signed out of both at once.
extension CrashSafetyTests {
    /// A browser: keeps cookies, sends forms, follows nothing.
    struct Browser {
        /// Redirects are the browser's to see, not to follow.
        static let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))
        var cookies: [String: String] = [:]

        mutating func send(_ method: HTTPMethod, _ url: String, form: [(String, String)]? = nil) async throws -> (status: Int, location: String?, body: String) {
            var request = HTTPClientRequest(url: url)
            request.method = method
            if !self.cookies.isEmpty { request.headers.add(name: "Cookie", value: self.cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")) }
            if let form {
                var allowed = CharacterSet.alphanumerics
                allowed.insert(charactersIn: "-._~")
                let encoded = form.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }.joined(separator: "&")
                request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
                request.body = .bytes(ByteBuffer(string: encoded))
            }
            let response = try await Self.client.execute(request, timeout: .seconds(30))
            for header in response.headers[canonicalForm: "Set-Cookie"] {
                let pair = header.split(separator: ";", maxSplits: 1)[0].split(separator: "=", maxSplits: 1)
                guard pair.count == 2 else { continue }
                let (name, value) = (String(pair[0]).trimmingCharacters(in: .whitespaces), String(pair[1]))
                if value.isEmpty { self.cookies[name] = nil } else { self.cookies[name] = value }
            }
            let body = try await response.body.collect(upTo: 4 << 20)
            return (Int(response.status.code), response.headers.first(name: "Location"), String(buffer: body))
        }

        /// The value of the page's first `csrf` field.
        static func csrf(in page: String) throws -> String {
            guard let field = page.range(of: "name=\"csrf\" value=\"") else { throw HarnessFailure("no csrf field in the page") }
            return String(page[field.upperBound...].prefix { $0 != "\"" })
        }
    }

    @Test(.enabled(if: PostgresTestDatabase.enabled, "needs a PostgreSQL server (SFDEST_TEST_POSTGRES_URL)"), .timeLimit(.minutes(3)))
    func aBrowserSignedInThroughOneAPIProcessIsSignedInThroughAnother() async throws {
        try await PostgresTestDatabase.with { url in
            try await ProcessHarness.with(name: "pg-ui", contacts: 1, environment: ["SFDEST_MASTER_KEY": Self.scaleOutMasterKey], deadline: .seconds(120)) { harness in
                let database = ["--postgres", url.commandLineText]
                harness.serveArguments = database + ["--role", "api"]
                let first = try await harness.start()
                let second = try await harness.launch(2, arguments: database + ["--role", "api"])
                let (a, b) = ("http://127.0.0.1:\(first.port)", "http://127.0.0.1:\(second.port)")
                var browser = Browser()

                let login = try await browser.send(.GET, "\(a)/ui/login")
                #expect(login.status == 200)
                let signedIn = try await browser.send(.POST, "\(a)/ui/login", form: [
                    ("csrf", try Browser.csrf(in: login.body)), ("apiKey", ProcessHarness.apiKey), ("next", "/ui/"),
                ])
                #expect(signedIn.status == 303, "\(signedIn.body.prefix(300))")

                // The other process knows the session, and takes a form with its CSRF token.
                let home = try await browser.send(.GET, "\(b)/ui/")
                #expect(home.status == 200, "the second api process sent the browser to \(home.location ?? "?")")
                let kept = browser.cookies
                let signedOut = try await browser.send(.POST, "\(b)/ui/logout", form: [("csrf", try Browser.csrf(in: home.body))])
                #expect(signedOut.status == 303 && signedOut.location?.hasPrefix("/ui/login") == true)

                // Signed out through the second: the first refuses the old cookie too.
                var stale = Browser(cookies: kept)
                let afterwards = try await stale.send(.GET, "\(a)/ui/")
                #expect(afterwards.status == 303 && afterwards.location?.hasPrefix("/ui/login") == true)
            }
        }
    }
}
