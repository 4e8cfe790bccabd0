import Foundation
import Hummingbird
import Store

/// `/ui/login` and `/ui/logout`. The login form carries a CSRF token that must match a cookie set
/// with the form (a login from another site cannot plant a session); a successful login starts a
/// new session whose cookie is HttpOnly, SameSite=Strict, and Secure under TLS.
struct UILoginRoutes: Sendable {
    let ui: WebUI

    func register(on router: Router<SfdestRequestContext>) {
        router.get("ui/login") { request, _ in
            if let id = request.cookies[self.ui.sessionCookie]?.value, await self.ui.sessions.session(id: id) != nil {
                return WebUI.redirect(WebUI.safeNext(request.uri.queryParameters.get("next")))
            }
            return try self.ui.loginPage(request)
        }
        router.post("ui/login") { request, _ in try await self.login(request) }
        router.post("ui/logout") { request, context in
            try await self.ui.signedIn(request, context) { page in
                await self.ui.sessions.end(id: page.session.id)
                self.ui.logger.notice("UI sign-out", metadata: ["key": "\(page.key.id)"])
                return WebUI.redirect("/ui/login?signedOut=1", cookies: [self.ui.cookie(self.ui.sessionCookie, "", maxAge: 0)])
            }
        }
    }

    func login(_ request: Request) async throws -> Response {
        let form = try await UIForm.read(request, limit: 64 * 1024)
        guard let expected = request.cookies[WebUI.loginCookie]?.value, UIToken.matches(form["csrf"], expected),
            WebUI.crossSiteRefusal(request) == nil
        else {
            self.ui.logger.warning("UI login refused: CSRF token missing or wrong")
            return try self.ui.loginPage(
                request, error: "The sign-in form expired or did not come from this page: enter the key again.", status: .forbidden
            )
        }
        guard let apiKey = form.text("apiKey") else {
            return try self.ui.loginPage(request, error: "Enter an API key.", status: .unprocessableContent)
        }
        let hash = APIKeyMaterial.hash(apiKey)
        let key: AuthenticatedKey
        do {
            key = try await self.ui.keys.authenticate(hash: hash)
        } catch let error as APIError {
            self.ui.logger.notice("UI login refused", metadata: ["reason": "\(error.code)"])
            return try self.ui.loginPage(request, error: error.message, status: .unauthorized)
        }
        guard key.grants(.viewDestinations) || key.grants(.manageKeys) else {
            self.ui.logger.notice("UI login refused: the key has nothing to show", metadata: ["key": "\(key.id)"])
            return try self.ui.loginPage(
                request, error: "The key '\(key.name)' has neither view-destinations nor manage-keys, so the UI has nothing to show it: sign in with a key that has one of them.",
                status: .forbidden
            )
        }
        // A session already open in this browser ends: one browser, one session.
        if let previous = request.cookies[self.ui.sessionCookie]?.value { await self.ui.sessions.end(id: previous) }
        let session = try await self.ui.sessions.create(keyHash: hash, keyName: key.name)
        self.ui.logger.notice("UI sign-in", metadata: ["key": "\(key.id)"])
        return WebUI.redirect(WebUI.safeNext(form["next"]), cookies: [
            self.ui.cookie(self.ui.sessionCookie, session.id),
            self.ui.cookie(WebUI.loginCookie, "", path: "/ui/login", maxAge: 0),
        ])
    }
}
