import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
@testable import Server
import SfdestClient
import Store
import Testing

/// What a browser does, over real HTTP without a browser: cookies kept by hand, redirects not
/// followed, forms posted url-encoded. (`WebUIBrowserTests` drives real Chromium.)
final class FormClient: @unchecked Sendable {
    // One test task uses a client at a time.
    let baseURL: String
    /// Idle connections are dropped after 5 s, before the server's 15 s idle timeout closes them:
    /// a browser retries a request the server reset on a reused connection, this client would not.
    let http: HTTPClient = {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.connectionPool = .init(idleTimeout: .seconds(5))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()
    var cookies: [String: String] = [:]

    struct Page {
        let status: Int
        let headers: HTTPHeaders
        let body: String
        var location: String? { self.headers.first(name: "Location") }
        var setCookies: [String] { self.headers["Set-Cookie"] }
        /// The value of the first hidden input named `name`.
        func hidden(_ name: String) -> String? {
            guard let range = self.body.range(of: "name=\"\(name)\" value=\"") else { return nil }
            return String(self.body[range.upperBound...].prefix { $0 != "\"" })
        }
    }

    init(baseURL: String) {
        self.baseURL = baseURL
    }

    deinit { try? self.http.syncShutdown() }

    func get(_ path: String) async throws -> Page {
        try await self.send(.GET, path, form: nil)
    }

    func post(_ path: String, _ form: [(String, String)], headers: [(String, String)] = []) async throws -> Page {
        try await self.send(.POST, path, form: form, headers: headers)
    }

    func send(_ method: HTTPMethod, _ path: String, form: [(String, String)]?, headers: [(String, String)] = []) async throws -> Page {
        var request = HTTPClientRequest(url: self.baseURL + path)
        request.method = method
        if !self.cookies.isEmpty {
            request.headers.add(name: "Cookie", value: self.cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; "))
        }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let form {
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-_.~")
            let body = form.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }.joined(separator: "&")
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await self.http.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 8 << 20)
        let page = Page(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes))
        for cookie in page.setCookies {
            let pair = cookie.split(separator: ";", maxSplits: 1)[0].split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            if cookie.contains("Max-Age=0") { self.cookies[String(pair[0])] = nil } else { self.cookies[String(pair[0])] = String(pair[1]) }
        }
        return page
    }

    /// Signs in with `key` through the login form; answers the login's reply.
    @discardableResult
    func login(_ key: String, next: String? = nil) async throws -> Page {
        let form = try await self.get("/ui/login")
        var fields = [("csrf", form.hidden("csrf") ?? ""), ("apiKey", key)]
        if let next { fields.append(("next", next)) }
        return try await self.post("/ui/login", fields)
    }

    /// The session's CSRF token, as the pages carry it.
    func csrf() async throws -> String {
        try #require(try await self.get("/ui/connections").hidden("csrf"))
    }
}

@Suite("Web UI: sessions, CSRF, permissions, escaping")
struct WebUITests {
    @Test func loginStartsAStrictHttpOnlySessionAndPagesNeedIt() async throws {
        try await ServerHarness.run { harness in
            let browser = FormClient(baseURL: harness.service.baseURL)
            // Signed out: every page sends to the login, keeping where it was going.
            let signedOut = try await browser.get("/ui/destinations/new")
            #expect(signedOut.status == 303)
            #expect(signedOut.location == "/ui/login?next=%2Fui%2Fdestinations%2Fnew")
            let root = try await browser.get("/")
            #expect(root.status == 303 && root.location == "/ui/")

            let form = try await browser.get("/ui/login")
            #expect(form.status == 200)
            #expect(form.body.contains("name=\"apiKey\""))
            let loginCookie = try #require(form.setCookies.first { $0.hasPrefix("sfdest_login=") })
            #expect(loginCookie.contains("HttpOnly") && loginCookie.contains("SameSite=Strict") && loginCookie.contains("Path=/ui/login"))
            #expect(form.headers.first(name: "Content-Security-Policy")?.contains("script-src 'self'") == true)
            #expect(form.headers.first(name: "X-Frame-Options") == "DENY")

            let login = try await browser.post("/ui/login", [("csrf", form.hidden("csrf") ?? ""), ("apiKey", ServerHarness.apiKey), ("next", "/ui/alerts")])
            #expect(login.status == 303)
            #expect(login.location == "/ui/alerts")
            let session = try #require(login.setCookies.first { $0.hasPrefix("sfdest_session=") })
            #expect(session.contains("HttpOnly") && session.contains("SameSite=Strict") && session.contains("Path=/"))
            #expect(!session.contains("Secure"), "plain http on loopback: no Secure flag")
            #expect(!session.contains(ServerHarness.apiKey), "the cookie is a session id, not the key")
            let home = try await browser.get("/ui/")
            #expect(home.status == 200)
            #expect(home.body.contains("Signed in with <strong id=\"key-name\">bootstrap key</strong>"))
            #expect(home.headers.first(name: "Cache-Control") == "no-store")
            #expect(!home.body.contains(ServerHarness.apiKey))
        }
    }

    @Test func aLoginWithoutItsFormTokenOrWithAWrongKeyStartsNoSession() async throws {
        try await ServerHarness.run { harness in
            let browser = FormClient(baseURL: harness.service.baseURL)
            // No login cookie: a form posted from elsewhere.
            let forged = try await browser.post("/ui/login", [("csrf", "whatever"), ("apiKey", ServerHarness.apiKey)])
            #expect(forged.status == 403)
            #expect(!forged.setCookies.contains { $0.hasPrefix("sfdest_session=") })
            #expect(forged.body.contains("did not come from this page"))

            let wrong = try await browser.login("sfd_this_is_not_a_key_of_this_service_0000")
            #expect(wrong.status == 401)
            #expect(wrong.body.contains("the API key is not valid"))
            #expect(!wrong.setCookies.contains { $0.hasPrefix("sfdest_session=") })

            // Only paths of the UI itself after login: never another site.
            for next in ["//evil.example/ui/", "https://evil.example/", "/v1/keys", "/ui/\\\\evil.example"] {
                let fresh = FormClient(baseURL: harness.service.baseURL)
                let login = try await fresh.login(ServerHarness.apiKey, next: next)
                #expect(login.location == "/ui/", "next=\(next) went to \(login.location ?? "nowhere")")
            }
            #expect(harness.logs.text.contains("UI login refused"))
            #expect(!harness.logs.text.contains(ServerHarness.apiKey))
        }
    }

    @Test func formsWithoutTheSessionsTokenOrFromAnotherSiteChangeNothing() async throws {
        try await ServerHarness.run { harness in
            let connectionId = try await harness.createConnection()
            let browser = FormClient(baseURL: harness.service.baseURL)
            try await browser.login(ServerHarness.apiKey)
            let token = try await browser.csrf()
            let fields = [("name", "Forged"), ("connectionId", connectionId), ("objectType", "Contact")]

            let missing = try await browser.post("/ui/destinations", fields)
            let wrong = try await browser.post("/ui/destinations", fields + [("csrf", String(token.reversed()))])
            let crossSite = try await browser.post("/ui/destinations", fields + [("csrf", token)], headers: [("Origin", "http://evil.example")])
            let fetchMetadata = try await browser.post("/ui/destinations", fields + [("csrf", token)], headers: [("Sec-Fetch-Site", "cross-site")])
            for refused in [missing, wrong, crossSite, fetchMetadata] {
                #expect(refused.status == 403)
                #expect(refused.body.contains("nothing was changed"))
            }
            #expect(try await harness.api.expect(200, .GET, "/v1/destinations").array.isEmpty)

            // The same form with the session's token, from this site: created.
            let origin = harness.service.baseURL
            let created = try await browser.post("/ui/destinations", fields + [("csrf", token)], headers: [("Origin", origin)])
            #expect(created.status == 303)
            #expect(created.location?.hasSuffix("/mapping") == true)
            let destinations = try await harness.api.expect(200, .GET, "/v1/destinations").array
            #expect(destinations.map { $0["name"] as? String } == ["Forged"])
            // Made by the session's key, as the audit log says.
            let audit = try await harness.api.expect(200, .GET, "/v1/audit?limit=5").array
            #expect(audit.first { $0["action"] as? String == "destination.create" }?["keyName"] as? String == "bootstrap key")
        }
    }

    @Test func aViewOnlyKeySeesNoEditButtonsAndTheServerRefusesItsForms() async throws {
        try await ServerHarness.run { harness in
            let destinationId = try await harness.createEnabledDestination()
            let viewer = try await harness.createKey(["view-destinations"], name: "viewer").key
            let browser = FormClient(baseURL: harness.service.baseURL)
            try await browser.login(viewer)
            let home = try await browser.get("/ui/")
            #expect(home.status == 200)
            #expect(home.body.contains("Sales contacts"))
            #expect(!home.body.contains("New destination") && !home.body.contains("Connect a Salesforce org"))
            let page = try await browser.get("/ui/destinations/\(destinationId)")
            #expect(page.status == 200)
            #expect(!page.body.contains("id=\"disable\"") && !page.body.contains("Replay") && !page.body.contains("Save alert settings"))
            let mapping = try await browser.get("/ui/destinations/\(destinationId)/mapping")
            #expect(!mapping.body.contains("id=\"save-mapping\""))
            #expect(mapping.body.contains("cannot change mappings"))
            // Pages the key may not see at all say which permission they need.
            let keys = try await browser.get("/ui/keys")
            #expect(keys.status == 403)
            #expect(keys.body.contains("manage-keys"))

            // The forms, posted anyway with a valid session and token: refused by the API's check.
            let token = try #require(page.hidden("csrf"))
            let disable = try await browser.post("/ui/destinations/\(destinationId)/disable", [("csrf", token)])
            #expect(disable.status == 303)
            let after = try await browser.get("/ui/destinations/\(destinationId)")
            #expect(after.body.contains("lacks the permission activate-destinations"))
            let connection = try await browser.post("/ui/connections", [("csrf", token), ("name", "Mine"), ("loginKind", "loginUrl"), ("loginUrl", harness.emulator.baseURL)])
            #expect(connection.status == 422)
            #expect(connection.body.contains("lacks the permission manage-destinations"))
            let view = try await harness.api.expect(200, .GET, "/v1/destinations/\(destinationId)").object
            #expect(view["status"] as? String == "enabled")
            #expect(try await harness.api.expect(200, .GET, "/v1/connections").array.count == 1)
        }
    }

    @Test func aRevokedKeyEndsItsSessionsAndLogoutForgetsTheSession() async throws {
        try await ServerHarness.run { harness in
            let created = try await harness.createKey(["view-destinations"], name: "temporary")
            let browser = FormClient(baseURL: harness.service.baseURL)
            try await browser.login(created.key)
            #expect(try await browser.get("/ui/").status == 200)
            try await harness.api.expect(204, .DELETE, "/v1/keys/\(created.id)")
            let revoked = try await browser.get("/ui/")
            #expect(revoked.status == 401)
            #expect(revoked.body.contains("was revoked"))
            #expect(try await browser.get("/ui/").status == 303, "the session ended with its key")

            let admin = FormClient(baseURL: harness.service.baseURL)
            try await admin.login(ServerHarness.apiKey)
            let session = try #require(admin.cookies["sfdest_session"])
            let token = try await admin.csrf()
            let logout = try await admin.post("/ui/logout", [("csrf", token)])
            #expect(logout.status == 303)
            #expect(logout.location?.hasPrefix("/ui/login") == true)
            #expect(logout.setCookies.contains { $0.hasPrefix("sfdest_session=;") && $0.contains("Max-Age=0") })
            admin.cookies["sfdest_session"] = session
            let replayed = try await admin.get("/ui/")
            #expect(replayed.status == 303, "the old session id still opens pages")
        }
    }

    @Test func sessionsEndAfterTheirIdleTimeAndARefreshDoesNotKeepThemAlive() async throws {
        // Margins of 20 s each way: beside the whole suite one request has taken over 5 s here
        // (the store's clock itself is checked to the second in the next test).
        try await ServerHarness.run(configure: { $0.uiSessionIdle = 40 }) { harness in
            let browser = FormClient(baseURL: harness.service.baseURL)
            try await browser.login(ServerHarness.apiKey)
            #expect(try await browser.get("/ui/").status == 200)
            try await Task.sleep(for: .seconds(20))
            // The page's own refresh: answered, without restarting the idle clock.
            #expect(try await browser.send(.GET, "/ui/", form: nil, headers: [("X-Sfdest-Refresh", "1")]).status == 200)
            try await Task.sleep(for: .seconds(22))
            let expired = try await browser.get("/ui/")
            #expect(expired.status == 303, "42 s after its last use by a person, the session is over")
            #expect(expired.location?.hasPrefix("/ui/login") == true)
        }
    }

    /// A UI session store over a SQLite store in a fresh folder; `body` gets the database's path.
    static func withSessionStores(idle: TimeInterval, lifetime: TimeInterval, _ body: ([UISessionStore], String) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-ui-sessions-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("sfdest.sqlite").path
        let store = try SQLiteStore(path: path, secrets: try SecretBox(base64Key: SecretBox.generateKey()))
        // Two processes serving the UI over one store.
        try await body([UISessionStore(store: store, idle: idle, lifetime: lifetime), UISessionStore(store: store, idle: idle, lifetime: lifetime)], directory.path)
    }

    @Test func theSessionStoreEndsSessionsIdleOrTooOldAndKeepsEachKeysCount() async throws {
        try await Self.withSessionStores(idle: 60, lifetime: 600) { stores, _ in
            let store = stores[0]
            let start = Date(timeIntervalSince1970: 1_000_000)
            let session = try await store.create(keyHash: "a", keyName: "a", now: start)
            #expect(await store.session(id: session.id, now: start.addingTimeInterval(59)) != nil)
            // Used at 59 s: idle counts from then.
            #expect(await store.session(id: session.id, now: start.addingTimeInterval(110)) != nil)
            // A refresh does not restart the idle clock.
            #expect(await store.session(id: session.id, touch: false, now: start.addingTimeInterval(160)) != nil)
            #expect(await store.session(id: session.id, now: start.addingTimeInterval(171)) == nil, "idle 61 s since its last use")
            // However busy, a session ends at its lifetime.
            let busy = try await store.create(keyHash: "b", keyName: "b", now: start)
            for minute in 1...9 { #expect(await store.session(id: busy.id, now: start.addingTimeInterval(Double(minute) * 59)) != nil) }
            #expect(await store.session(id: busy.id, now: start.addingTimeInterval(600)) == nil)
            #expect(UIToken.matches(busy.csrfToken, busy.csrfToken) && !UIToken.matches(nil, busy.csrfToken) && !UIToken.matches("", busy.csrfToken))
            #expect(session.id != busy.id && session.id.count == 43)
            #expect(busy.csrfToken != session.csrfToken && busy.csrfToken != busy.id)
        }
    }

    @Test func everyProcessServingTheUIKnowsASessionAndTheDatabaseHoldsNothingToUse() async throws {
        try await Self.withSessionStores(idle: 600, lifetime: 3_600) { stores, directory in
            let now = Date()
            let session = try await stores[0].create(keyHash: "k", keyName: "admin", now: now)
            // Signed in through one process, used through the other: same key, same CSRF token.
            let there = try #require(await stores[1].session(id: session.id, now: now.addingTimeInterval(1)))
            #expect(there.keyHash == "k" && there.keyName == "admin" && there.csrfToken == session.csrfToken)
            // A message kept by one (a new key shown once) is shown by the other, once.
            let secret = "sfd_\(UUID().uuidString)"
            await stores[0].flash(UIFlash(kind: .success, message: "Key made", secret: secret), for: session.id)
            let shown = await stores[1].takeFlashes(for: session.id)
            #expect(shown.map(\.message) == ["Key made"] && shown.first?.secret == secret)
            #expect(await stores[0].takeFlashes(for: session.id).isEmpty)
            await stores[0].flash(UIFlash(kind: .info, message: "kept", secret: secret), for: session.id)

            // Neither the session's id, its CSRF token nor the secret is in the database's files.
            var bytes = Data()
            for file in try FileManager.default.contentsOfDirectory(atPath: directory) {
                bytes.append(try Data(contentsOf: URL(fileURLWithPath: directory).appendingPathComponent(file)))
            }
            for (what, value) in [("session id", session.id), ("CSRF token", session.csrfToken), ("new key", secret)] {
                #expect(bytes.range(of: Data(value.utf8)) == nil, "the \(what) is in the database's files")
            }

            // Signed out in one, signed out in both; its messages go with it.
            await stores[1].end(id: session.id)
            #expect(await stores[0].session(id: session.id, now: now.addingTimeInterval(2)) == nil)
            #expect(await stores[0].takeFlashes(for: session.id).isEmpty)
        }
    }

    @Test func pagesEscapeWhatPeopleTypedAndUnknownPagesAre404() async throws {
        try await ServerHarness.run { harness in
            let connectionId = try await harness.createConnection()
            try await harness.api.expect(201, .POST, "/v1/destinations", json: [
                "name": "<script>alert(1)</script>", "description": "\"><img src=x onerror=alert(2)>", "connectionId": connectionId, "objectType": "Contact",
            ])
            let browser = FormClient(baseURL: harness.service.baseURL)
            try await browser.login(ServerHarness.apiKey)
            let home = try await browser.get("/ui/")
            #expect(home.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(!home.body.contains("<script>alert"))
            #expect(!home.body.contains("<img src=x"))
            let missing = try await browser.get("/ui/destinations/dest_none")
            #expect(missing.status == 404)
            #expect(missing.body.contains("no destination dest_none"))
            let unknown = try await browser.get("/ui/nothing/here")
            #expect(unknown.status == 404)
            #expect(unknown.headers.first(name: "Content-Type")?.hasPrefix("text/html") == true)
        }
    }

    @Test func aRefusedConnectionFormShowsSalesforcesAnswerAndNeverTheSecrets() async throws {
        try await ServerHarness.run { harness in
            let browser = FormClient(baseURL: harness.service.baseURL)
            try await browser.login(ServerHarness.apiKey)
            let token = try await browser.csrf()
            let fields: [(String, String)] = [
                ("csrf", token), ("name", "Org"), ("loginKind", "loginUrl"), ("loginUrl", harness.emulator.baseURL), ("authType", "password"),
                ("username", "integration@emulator.sfdest"), ("password", "wrong-password-value"), ("securityToken", "TOKEN123"),
                ("clientId", "sfdest-emulator-consumer-key"), ("clientSecret", "sfdest-emulator-consumer-secret"),
            ]
            let refused = try await browser.post("/ui/connections", fields)
            #expect(refused.status == 422)
            #expect(refused.body.contains("Salesforce refused the credentials"))
            #expect(refused.body.contains("value=\"integration@emulator.sfdest\""), "what was typed, but the secrets, comes back")
            for secret in ["wrong-password-value", "sfdest-emulator-consumer-secret", "TOKEN123"] {
                #expect(!refused.body.contains(secret), "\(secret) came back to the browser")
                #expect(!harness.logs.text.contains(secret), "\(secret) was logged")
            }
            var good = fields
            good[6] = ("password", "emulator-pw")
            let connected = try await browser.post("/ui/connections", good)
            #expect(connected.status == 303)
            let page = try await browser.get("/ui/connections")
            #expect(page.body.contains("Connected: Org reaches"))
            #expect(!page.body.contains("emulator-pw"))
        }
    }

    @Test func aKeyWithNothingToShowCannotSignInAndAKeysLoginsPushOutOnlyItsOwnSessions() async throws {
        try await ServerHarness.run { harness in
            let ingestOnly = try await harness.createKey(["ingest-profiles"], name: "cdp").key
            let refused = try await FormClient(baseURL: harness.service.baseURL).login(ingestOnly)
            #expect(refused.status == 403)
            #expect(refused.body.contains("neither view-destinations nor manage-keys"))

            let admin = FormClient(baseURL: harness.service.baseURL)
            try await admin.login(ServerHarness.apiKey)
            let viewer = try await harness.createKey(["view-destinations"], name: "viewer").key
            let first = FormClient(baseURL: harness.service.baseURL)
            try await first.login(viewer)
            for _ in 0..<UISessionStore.maxSessionsPerKey {
                try await FormClient(baseURL: harness.service.baseURL).login(viewer)
            }
            #expect(try await first.get("/ui/").status == 303, "the key's oldest session was pushed out")
            #expect(try await admin.get("/ui/").status == 200, "another key's session was not")
        }
    }

    @Test func aNewKeyIsShownOnceAndAReloadMakesNoOther() async throws {
        try await ServerHarness.run { harness in
            let browser = FormClient(baseURL: harness.service.baseURL)
            try await browser.login(ServerHarness.apiKey)
            let token = try await browser.csrf()
            let created = try await browser.post("/ui/keys", [("csrf", token), ("name", "reps"), ("permissions", "view-destinations"), ("permissions", "view-segments")])
            #expect(created.status == 303)
            let shown = try await browser.get("/ui/keys")
            let key = try #require(shown.body.range(of: "id=\"new-key-value\">").map { String(shown.body[$0.upperBound...].prefix { $0 != "<" }) })
            #expect(key.hasPrefix("sfd_"))
            #expect(try await harness.api.send(.GET, "/v1/destinations", authorization: .key(key)).status == 200)
            let again = try await browser.get("/ui/keys")
            #expect(!again.body.contains(key), "the key is shown once")
            let keys = try await harness.api.expect(200, .GET, "/v1/keys").array
            #expect(keys.filter { $0["name"] as? String == "reps" }.count == 1)
            #expect(keys.first { $0["name"] as? String == "reps" }?["permissions"] as? [String] == ["view-destinations", "view-segments"])
        }
    }

    @Test func everyTemplateRendersInsideTheLayout() {
        for (name, _) in UITemplateText.all where name != "layout" {
            let html = UITemplates.shared.page(name, title: "T-\(name)", data: [:], page: nil, flashes: [UIFlash(kind: .info, message: "note <b>")])
            #expect(html.hasPrefix("<!doctype html>"), "\(name)")
            #expect(html.contains("<title>T-\(name) · sfdest</title>"))
            #expect(html.contains("note &lt;b&gt;"))
            #expect(html.hasSuffix("</html>"))
        }
    }
}

@Suite("Setup routes: profile sources, audiences seen, org fields, preflight of a draft")
struct SetupRouteTests {
    @Test func sourcesAndAudiencesComeFromStoredProfiles() async throws {
        try await ServerHarness.run { harness in
            let ids = harness.emulator.seededContactIds
            let profiles = ids.enumerated().map { ServerHarness.profile(crmId: $0.element, lastName: "Lovelace-\($0.offset)") }
            try await harness.api.expect(202, .POST, "/v1/profiles", json: profiles)
            let sources = try await harness.api.expect(200, .GET, "/v1/profiles/sources").object
            #expect(sources["profilesRead"] as? Int == ids.count)
            let list = sources["sources"] as? [[String: Any]] ?? []
            let lastName = try #require(list.first { $0["source"] as? String == "xdm:person.name.lastName" })
            #expect(lastName["profiles"] as? Int == ids.count)
            #expect((lastName["samples"] as? [String])?.count == 3)
            #expect((lastName["samples"] as? [String])?.allSatisfy { $0.hasPrefix("Lovelace-") } == true)
            #expect(list.contains { $0["source"] as? String == "identityMap:crmID" })
            let limited = try await harness.api.expect(200, .GET, "/v1/profiles/sources?limit=1").object
            #expect(limited["profilesRead"] as? Int == 1)
            #expect(try await harness.api.send(.GET, "/v1/profiles/sources?limit=zero").status == 400)

            let audiences = try await harness.api.expect(200, .GET, "/v1/audiences").array
            #expect(audiences.count == 1)
            #expect(audiences.first?["segmentId"] as? String == "seg-gold")
            #expect(audiences.first?["realized"] as? Int == ids.count)
            #expect(audiences.first?["members"] as? Int == ids.count)
        }
    }

    @Test func fieldsAreTheOrgsDescribeWithWhatEachIsFor() async throws {
        try await ServerHarness.run { harness in
            let id = try await harness.createDestination()
            try await harness.admin.addLongTextAreaFields(["crm_1_seg__c"], to: ["Contact"])
            let fields = try await harness.api.expect(200, .GET, "/v1/destinations/\(id)/fields?fresh=true").object
            #expect(fields["objectType"] as? String == "Contact")
            let list = fields["fields"] as? [[String: Any]] ?? []
            let byName = Dictionary(list.map { ($0["name"] as? String ?? "", $0) }, uniquingKeysWith: { a, _ in a })
            #expect(byName["LastName"]?["required"] as? Bool == true)
            #expect(byName["FirstName"]?["required"] as? Bool == false)
            #expect(byName["crm_1_seg__c"]?["longTextArea"] as? Bool == true)
            #expect(byName["Email"]?["longTextArea"] as? Bool == false)
            #expect(try await harness.api.send(.GET, "/v1/destinations/dest_none/fields").status == 404)
        }
    }

    @Test func thePreflightChecksADraftWithoutSavingIt() async throws {
        try await ServerHarness.run { harness in
            let id = try await harness.createDestination()
            try await harness.admin.addLongTextAreaFields(["crm_1_seg__c"], to: ["Contact"])
            // Nothing configured: the enable check's own problems.
            let empty = try await harness.api.expect(200, .POST, "/v1/destinations/\(id)/preflight?fresh=true").object
            #expect(empty["ready"] as? Bool == false)
            let emptyProblems = (empty["problems"] as? [[String: Any]] ?? []).compactMap { $0["message"] as? String }
            #expect(emptyProblems.contains { $0.contains("SalesforceId") })

            // A draft with a field the org lacks and a source without its prefix.
            let draft: [String: Any] = [
                "mappings": [
                    ["source": "identityMap:crmID", "target": "identity:SalesforceId"],
                    ["source": "person.name.lastName", "target": "attribute:LastName"],
                ],
            ]
            let malformed = try await harness.api.expect(200, .POST, "/v1/destinations/\(id)/preflight", json: draft).object
            let malformedFields = (malformed["problems"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
            #expect(malformedFields == ["mappings[1].source"])
            let missingField: [String: Any] = [
                "mappings": ContractClient.mappings(["person.nick": "Nickname__c"]),
                "segments": [["segmentId": "seg-gold", "mappingId": "crm_1_seg"]],
            ]
            let lacking = try await harness.api.expect(200, .POST, "/v1/destinations/\(id)/preflight", json: missingField).object
            #expect(lacking["ready"] as? Bool == false)
            let messages = (lacking["problems"] as? [[String: Any]] ?? []).compactMap { $0["message"] as? String }
            #expect(messages.contains { $0.contains("Nickname__c") }, "\(messages)")

            let fine: [String: Any] = ["mappings": ServerHarness.contactMappings, "segments": [["segmentId": "seg-gold", "mappingId": "crm_1_seg"]]]
            let ready = try await harness.api.expect(200, .POST, "/v1/destinations/\(id)/preflight", json: fine).object
            #expect(ready["ready"] as? Bool == true, "\(ready)")
            #expect((ready["problems"] as? [Any])?.isEmpty == true)
            // Saved nothing: the destination still has no mappings, and is a draft.
            let view = try await harness.api.expect(200, .GET, "/v1/destinations/\(id)").object
            #expect((view["mappings"] as? [Any])?.isEmpty == true)
            #expect(view["status"] as? String == "draft")
            #expect(try await harness.api.send(.POST, "/v1/destinations/\(id)/preflight", text: "{\"mappings\": 3").status == 400)
        }
    }

    @Test func onlyAKeyThatMayEnableGetsFreshDescribes() async throws {
        try await ServerHarness.run { harness in
            let id = try await harness.createDestination()
            let viewer = try await harness.createKey(["view-destinations"], name: "viewer").key
            func describes() async throws -> Int {
                try await harness.admin.stats().callsByEndpoint.filter { $0.key.contains("describe") }.values.reduce(0, +)
            }
            // setup: the describe cached once
            try await harness.api.expect(200, .GET, "/v1/destinations/\(id)/fields")
            let cached = try await describes()

            // run
            for _ in 0..<3 {
                #expect(try await harness.api.send(.GET, "/v1/destinations/\(id)/fields?fresh=true", authorization: .key(viewer)).status == 200)
                #expect(try await harness.api.send(.POST, "/v1/destinations/\(id)/preflight?fresh=true", authorization: .key(viewer)).status == 200)
            }
            let afterViewer = try await describes()
            try await harness.api.expect(200, .GET, "/v1/destinations/\(id)/fields?fresh=true")
            let afterAdmin = try await describes()

            // validate: the view-only key read the cache; the bootstrap key described the org again
            #expect(cached >= 1)
            #expect(afterViewer == cached, "a view-only key made \(afterViewer - cached) describe calls")
            #expect(afterAdmin == cached + 1)
        }
    }
}
