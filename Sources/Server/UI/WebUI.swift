import Foundation
import Hummingbird
import Logging
import NIOCore
import SfdestJSON
import Store

typealias UIHeader = HTTPFields.Element

/// The web UI at `/ui/`: server-rendered pages for the people who run audiences. Every page and
/// every button goes through the HTTP API in-process (`UIPage.api`), with the signed-in key, so
/// the API's permission check, validation, audit log and errors are the UI's too: the UI keeps
/// no copy of a rule, only how to show it.
struct WebUI: Sendable {
    /// The session cookie's name: with `Secure`, the `__Host-` prefix too, so a sibling
    /// subdomain cannot plant one.
    var sessionCookie: String { self.secureCookies ? "__Host-sfdest_session" : "sfdest_session" }
    static let loginCookie = "sfdest_login"

    let settings: ServerSettings
    let api: any HTTPResponder<SfdestRequestContext>
    let keys: APIKeyMiddleware
    let sessions: UISessionStore
    let templates: UITemplates
    let logger: Logger

    init(settings: ServerSettings, services: SfdestServices, api: any HTTPResponder<SfdestRequestContext>, logger: Logger) {
        self.settings = settings
        self.api = api
        self.keys = APIKeyMiddleware(settings: settings, store: services.store)
        self.sessions = UISessionStore(store: services.store, idle: settings.uiSessionIdle, lifetime: settings.uiSessionLifetime)
        self.templates = UITemplates.shared
        self.logger = logger
    }

    var secureCookies: Bool { self.settings.uiSecureCookies ?? (self.settings.tls != nil) }

    /// The UI's routes: `/` and everything under `/ui/`.
    func buildRouter() -> Router<SfdestRequestContext> {
        let router = Router(context: SfdestRequestContext.self)
        router.add(middleware: UIErrorMiddleware(ui: self))
        router.add(middleware: RequestIDMiddleware())
        router.get("/") { _, _ in Self.redirect("/ui/") }
        UIAssets.register(on: router)
        UILoginRoutes(ui: self).register(on: router)
        UIPages(ui: self).register(on: router)
        return router
    }

    // MARK: pages

    /// Runs `body` for a signed-in browser; sends anyone else to the login page. A POST must carry
    /// the session's CSRF token (the form's hidden `csrf` field or the `X-CSRF-Token` header) and
    /// come from this site.
    func signedIn(_ request: Request, _ context: SfdestRequestContext, _ body: (UIPage) async throws -> Response) async throws -> Response {
        // The page's own refresh (while work is in flight) does not keep an unattended session alive.
        let touch = request.headers[UIHeader.Name("X-Sfdest-Refresh")!] == nil
        guard let id = request.cookies[self.sessionCookie]?.value, let session = await self.sessions.session(id: id, touch: touch) else {
            return Self.redirect("/ui/login?next=\(Self.nextParameter(request))")
        }
        let key: AuthenticatedKey
        do {
            key = try await self.keys.authenticate(hash: session.keyHash)
        } catch let error as APIError {
            // Revoked or expired since login: the session ends with it.
            await self.sessions.end(id: id)
            self.logger.notice("UI session ended: its key is no longer valid", metadata: ["reason": "\(error.message)"])
            return try self.loginPage(request, error: "Signed out: \(error.message)", status: .unauthorized)
        }
        var form = UIForm()
        if request.method == .post {
            form = try await UIForm.read(request, limit: self.settings.maxConfigurationBodyBytes)
            if form.fields.count > UIForm.maxFields {
                return try self.errorPage(
                    status: .contentTooLarge, title: "Too large",
                    message: "The form has \(form.fields.count) fields; at most \(UIForm.maxFields) are read, so nothing was changed.", page: nil
                )
            }
            if let refusal = Self.crossSiteRefusal(request) {
                self.logger.warning("UI form refused: \(refusal)")
                return try self.errorPage(status: .forbidden, title: "Refused", message: refusal, page: nil)
            }
            let token = form["csrf"] ?? request.headers[UIHeader.Name("X-CSRF-Token")!]
            guard UIToken.matches(token, session.csrfToken) else {
                self.logger.warning("UI form refused: CSRF token missing or wrong", metadata: ["path": "\(request.uri.path)"])
                return try self.errorPage(
                    status: .forbidden, title: "Refused",
                    message: "The form's CSRF token is missing or wrong, so nothing was changed. Reload the page and submit the form again.",
                    page: nil
                )
            }
        }
        let page = UIPage(ui: self, request: request, context: context, session: session, key: key, form: form)
        do {
            return try await body(page)
        } catch let refusal as UIRefusal {
            // What the page needed was refused (a permission, a missing destination): the API's
            // own message, inside the signed-in layout.
            let status = refusal.answer.status
            return try self.errorPage(
                status: HTTPResponse.Status(code: status), title: status == 403 ? "Not allowed" : status == 404 ? "Not found" : "Refused",
                message: refusal.answer.errorMessage, page: page
            )
        }
    }

    /// Why a POST is refused as coming from another site (nil: it is not). Browsers send
    /// `Sec-Fetch-Site` and `Origin`; the CSRF token is the defense, these are a second one.
    static func crossSiteRefusal(_ request: Request) -> String? {
        if let site = request.headers[UIHeader.Name("Sec-Fetch-Site")!], site == "cross-site" {
            return "The form was sent from another site, so nothing was changed."
        }
        if let origin = request.headers[UIHeader.Name("Origin")!], origin != "null",
            let host = request.head.authority,
            let originHost = URLComponents(string: origin)?.host
        {
            let originAuthority = URLComponents(string: origin).map { components in
                components.port.map { "\(originHost):\($0)" } ?? originHost
            } ?? originHost
            if originAuthority.lowercased() != host.lowercased() {
                return "The form was sent from \(origin), not from this service, so nothing was changed."
            }
        }
        return nil
    }

    static func nextParameter(_ request: Request) -> String {
        let path = request.uri.path.hasPrefix("/ui/") ? request.uri.path : "/ui/"
        return path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "%2Fui%2F"
    }

    // MARK: responses

    static func redirect(_ location: String, cookies: [String] = []) -> Response {
        var headers: HTTPFields = [.location: location, .cacheControl: "no-store"]
        for cookie in cookies { headers.append(UIHeader(name: .setCookie, value: cookie)) }
        return Response(status: .seeOther, headers: headers)
    }

    /// An HTML page with the headers every page carries: no caching, no framing, scripts and
    /// styles only from sfdest itself.
    static func html(_ text: String, status: HTTPResponse.Status = .ok, cookies: [String] = []) -> Response {
        var headers: HTTPFields = [
            .contentType: "text/html; charset=utf-8",
            .cacheControl: "no-store",
            UIHeader.Name("Content-Security-Policy")!:
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            UIHeader.Name("X-Content-Type-Options")!: "nosniff",
            UIHeader.Name("X-Frame-Options")!: "DENY",
            UIHeader.Name("Referrer-Policy")!: "same-origin",
        ]
        for cookie in cookies { headers.append(UIHeader(name: .setCookie, value: cookie)) }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// A `Set-Cookie` value: HttpOnly and SameSite=Strict always, Secure under TLS.
    func cookie(_ name: String, _ value: String, path: String = "/", maxAge: Int? = nil) -> String {
        var parts = ["\(name)=\(value)", "Path=\(path)", "HttpOnly", "SameSite=Strict"]
        if let maxAge { parts.append("Max-Age=\(maxAge)") }
        if self.secureCookies { parts.append("Secure") }
        return parts.joined(separator: "; ")
    }

    /// Renders a page inside the layout.
    func render(_ template: String, title: String, data: [String: Any], page: UIPage?, status: HTTPResponse.Status = .ok, flashes: [UIFlash] = []) async -> Response {
        var shown = flashes
        if let page { shown = await self.sessions.takeFlashes(for: page.session.id) + flashes }
        return Self.html(self.templates.page(template, title: title, data: data, page: page, flashes: shown), status: status)
    }

    /// A page redrawn after the API refused its form (422, the refusal on top), or drawn afresh.
    func render(_ template: String, title: String, data: [String: Any], page: UIPage, refused: UIFlash?) async -> Response {
        await self.render(template, title: title, data: data, page: page, status: refused == nil ? .ok : .unprocessableContent, flashes: refused.map { [$0] } ?? [])
    }

    func errorPage(status: HTTPResponse.Status, title: String, message: String, page: UIPage?) throws -> Response {
        Self.html(self.templates.page("error", title: title, data: ["message": message, "status": status.code], page: page, flashes: []), status: status)
    }

    func loginPage(_ request: Request, error: String? = nil, status: HTTPResponse.Status = .ok) throws -> Response {
        let token = UIToken.random()
        var data: [String: Any] = ["csrf": token, "next": Self.safeNext(request.uri.queryParameters.get("next"))]
        if let error { data["error"] = error }
        return Self.html(
            self.templates.page("login", title: "Sign in", data: data, page: nil, flashes: []), status: status,
            cookies: [self.cookie(Self.loginCookie, token, path: "/ui/login", maxAge: 3600)]
        )
    }

    /// Where to go after login: only a path of the UI itself (never another site).
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/ui/"), !next.hasPrefix("//"), !next.contains("\\"), !next.contains("://") else { return "/ui/" }
        return next
    }
}

/// What an API call answered: its status and JSON.
struct APIAnswer: Sendable {
    var status: Int
    var json: JSON

    var ok: Bool { (200..<300).contains(self.status) }
    var errorCode: String { self.json["error"]?["code"]?.stringValue ?? "" }
    var errorMessage: String { self.json["error"]?["message"]?.stringValue ?? "the service answered \(self.status)" }
    /// The problems in the error's details, each as "field: message".
    var problems: [String] {
        (self.json["error"]?["details"]?.arrayValue ?? []).compactMap { detail in
            guard let message = detail["message"]?.stringValue else { return nil }
            return detail["field"]?.stringValue.map { "\($0): \(message)" } ?? message
        }
    }

    /// The refusal as a message to show.
    var flash: UIFlash { UIFlash(kind: .error, message: self.errorMessage, problems: self.problems) }
}

/// One page's request from a signed-in browser.
struct UIPage: Sendable {
    let ui: WebUI
    let request: Request
    let context: SfdestRequestContext
    let session: UISession
    let key: AuthenticatedKey
    let form: UIForm

    /// Calls the HTTP API in-process as the signed-in key: the same routes, permissions,
    /// validation and audit as a client with the key in its Authorization header.
    func api(_ method: HTTPRequest.Method, _ path: String, _ body: JSON? = nil) async throws -> APIAnswer {
        var head = HTTPRequest(method: method, scheme: "http", authority: "sfdest-ui", path: path)
        if body != nil { head.headerFields[.contentType] = "application/json" }
        let bytes = body.map { ByteBuffer(bytes: JSONWriter.encode($0)) } ?? ByteBuffer()
        head.headerFields[.contentLength] = "\(bytes.readableBytes)"
        let request = Request(head: head, body: RequestBody(buffer: bytes))
        let response = try await UIInternalCall.$keyHash.withValue(self.session.keyHash) {
            try await self.ui.api.respond(to: request, context: self.context)
        }
        let collected = UIBodyCollector.Buffer()
        try await response.body.write(UIBodyCollector(collected: collected))
        let answered = collected.bytes
        let json = answered.readableBytes == 0 ? JSON.null : ((try? JSONParser.parse(Array(answered.readableBytesView))) ?? .null)
        return APIAnswer(status: Int(response.status.code), json: json)
    }

    /// Calls the API and answers its JSON; a refusal becomes `UIRefusal` (an error page naming it).
    func get(_ path: String) async throws -> JSON {
        let answer = try await self.api(.get, path)
        guard answer.ok else { throw UIRefusal(answer: answer) }
        return answer.json
    }

    func grants(_ permission: Permission) -> Bool { self.key.grants(permission) }

    /// After a form: a message for the next page, and there.
    func redirect(_ location: String, _ flash: UIFlash? = nil) async -> Response {
        if let flash { await self.ui.sessions.flash(flash, for: self.session.id) }
        return WebUI.redirect(location)
    }
}

/// The API refused what a page needed: shown as an error page with the API's own message.
struct UIRefusal: Error {
    var answer: APIAnswer
}

/// Collects a response body the API wrote.
struct UIBodyCollector: ResponseBodyWriter {
    final class Buffer {
        var bytes = ByteBuffer()
    }
    let collected: Buffer
    mutating func write(_ buffer: ByteBuffer) async throws {
        var buffer = buffer
        self.collected.bytes.writeBuffer(&buffer)
    }
    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

/// A form body (`application/x-www-form-urlencoded`), fields in order, repeats kept.
struct UIForm: Sendable {
    var fields: [(String, String)] = []
    /// Fields a form may have (mapping rows, audiences): a page redrawn from a refused form costs
    /// what it holds, so it holds no more than a person fills in.
    static let maxFields = 2_000

    subscript(name: String) -> String? {
        self.fields.first { $0.0 == name }.map(\.1)
    }

    /// The field's value trimmed, nil when empty.
    func text(_ name: String) -> String? {
        guard let value = self[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }

    func all(_ name: String) -> [String] {
        self.fields.filter { $0.0 == name }.map(\.1)
    }

    init(fields: [(String, String)] = []) {
        self.fields = fields
    }

    init(encoded text: String) {
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.decode(parts[0])
            let value = parts.count > 1 ? Self.decode(parts[1]) : ""
            self.fields.append((name, value))
        }
    }

    static func read(_ request: Request, limit: Int) async throws -> UIForm {
        let data = try await RequestJSON.collect(request, limit: limit)
        return UIForm(encoded: String(decoding: data, as: UTF8.self))
    }

    private static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}

/// Errors while a page is made become an HTML page, never a stack trace or JSON.
struct UIErrorMiddleware: RouterMiddleware {
    typealias Context = SfdestRequestContext
    let ui: WebUI

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let refusal as UIRefusal {
            let answer = refusal.answer
            let title = answer.status == 403 ? "Not allowed" : answer.status == 404 ? "Not found" : "Refused"
            return try self.ui.errorPage(
                status: HTTPResponse.Status(code: answer.status), title: title, message: answer.errorMessage, page: nil
            )
        } catch let error as APIError {
            context.logger.notice("UI request refused", metadata: ["status": "\(error.status.code)", "code": "\(error.code)"])
            return try self.ui.errorPage(status: error.status, title: "Refused", message: error.message, page: nil)
        } catch let error as HTTPError where error.status == .notFound {
            return try self.ui.errorPage(status: .notFound, title: "Not found", message: "There is no page at \(request.uri.path).", page: nil)
        } catch let error as HTTPResponseError {
            return try self.ui.errorPage(status: error.status, title: "Refused", message: "\(error)", page: nil)
        } catch {
            context.logger.error("UI page failed", metadata: ["error": "\(error)"])
            return try self.ui.errorPage(
                status: .internalServerError, title: "Something went wrong",
                message: "The page could not be made; the service's log has the details (request id \(request.headers[UIHeader.Name("X-Request-Id")!] ?? "unknown")).",
                page: nil
            )
        }
    }
}
