import Foundation
import Hummingbird
import SfdestJSON
import Store

/// Alerts and their webhooks; API keys and the audit log (for keys with manage-keys).
extension UIPages {
    func alerts(_ page: UIPage, flash: UIFlash? = nil) async throws -> Response {
        let alerts = try await page.get("/v1/alerts?limit=100").arrayValue ?? []
        let destinations = try await page.get("/v1/destinations").arrayValue ?? []
        let names = UIValue.namesById(destinations)
        let subscriptions = try await page.get("/v1/alerts/subscriptions").arrayValue ?? []
        let data: [String: Any] = [
            "alerts": alerts.map { alert -> [String: Any] in
                var row = UIValue.object(alert)
                row["destinationName"] = names[alert["destinationId"]?.stringValue ?? ""] ?? ""
                row["openedShown"] = UIValue.time(alert["openedAt"]?.stringValue)
                row["resolvedShown"] = UIValue.time(alert["resolvedAt"]?.stringValue)
                row["stateClass"] = alert["state"]?.stringValue == "open" ? "bad" : "ok"
                return row
            },
            "hasAlerts": !alerts.isEmpty,
            "subscriptions": subscriptions.map { subscription -> [String: Any] in
                var row = UIValue.object(subscription)
                row["destinationName"] = subscription["destinationId"]?.stringValue.flatMap { names[$0] } ?? "every destination"
                return row
            },
            "hasSubscriptions": !subscriptions.isEmpty,
            "destinations": UIValue.objects(.array(destinations)),
            "canManage": page.grants(.manageDestinations),
        ]
        return await self.ui.render("alerts", title: "Alerts", data: data, page: page, refused: flash)
    }

    func subscribe(_ page: UIPage) async throws -> Response {
        var body: [(String, JSON)] = []
        for name in ["url", "secret", "destinationId"] {
            if let value = page.form.text(name) { body.append((name, .string(value))) }
        }
        let answer = try await page.api(.post, "/v1/alerts/subscriptions", .object(body))
        guard answer.ok else { return try await self.alerts(page, flash: answer.flash) }
        return await page.redirect("/ui/alerts", UIFlash(kind: .success, message: "Webhook added: alert events are signed with its secret."))
    }

    func unsubscribe(_ page: UIPage) async throws -> Response {
        let id = try page.context.parameters.require("id")
        let answer = try await page.api(.delete, "/v1/alerts/subscriptions/\(UIValue.pathComponent(id))")
        return await page.redirect("/ui/alerts", answer.ok ? UIFlash(kind: .success, message: "Webhook removed.") : answer.flash)
    }

    // MARK: keys and audit

    func keys(_ page: UIPage, flash: UIFlash? = nil) async throws -> Response {
        let keys = try await page.get("/v1/keys").arrayValue ?? []
        let data: [String: Any] = [
            "keys": keys.map { key -> [String: Any] in
                var row = UIValue.object(key)
                row["permissionsShown"] = (key["permissions"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ", ")
                row["createdShown"] = UIValue.time(key["createdAt"]?.stringValue)
                row["expiresShown"] = key["expiresAt"]?.stringValue.map { UIValue.time($0) } ?? "never"
                row["lastUsedShown"] = key["lastUsedAt"]?.stringValue.map { UIValue.time($0) } ?? "never"
                row["revoked"] = key["revokedAt"]?.stringValue != nil
                return row
            },
            "permissions": Permission.allCases.map { ["name": $0.rawValue] },
        ]
        return await self.ui.render("keys", title: "API keys", data: data, page: page, refused: flash)
    }

    func createKey(_ page: UIPage) async throws -> Response {
        var body: [(String, JSON)] = [("permissions", .array(page.form.all("permissions").map(JSON.string)))]
        if let name = page.form.text("name") { body.append(("name", .string(name))) }
        if let expires = page.form.text("expiresAt") {
            // A date picker gives a day: the key lasts to the end of it (UTC).
            body.append(("expiresAt", .string(expires.count == 10 ? expires + "T23:59:59Z" : expires)))
        }
        let answer = try await page.api(.post, "/v1/keys", .object(body))
        guard answer.ok else { return try await self.keys(page, flash: answer.flash) }
        // Shown once, on the next page only (a reload does not make a second key): the key is
        // stored as its hash.
        let name = answer.json["name"]?.stringValue ?? "the key"
        return await page.redirect("/ui/keys", UIFlash(
            kind: .success, message: "Key \(name) created. Copy it now: it is shown only once.", secret: answer.json["key"]?.stringValue
        ))
    }

    func revokeKey(_ page: UIPage) async throws -> Response {
        let id = try page.context.parameters.require("id")
        let answer = try await page.api(.delete, "/v1/keys/\(UIValue.pathComponent(id))")
        return await page.redirect("/ui/keys", answer.ok ? UIFlash(kind: .success, message: "Key \(id) revoked, with the keys it created.") : answer.flash)
    }

    func audit(_ page: UIPage) async throws -> Response {
        let entries = try await page.get("/v1/audit?limit=200").arrayValue ?? []
        let rows = entries.map { entry -> [String: Any] in
            var row = UIValue.object(entry)
            row["atShown"] = UIValue.time(entry["at"]?.stringValue)
            row["beforeShown"] = UIValue.compact(entry["before"])
            row["afterShown"] = UIValue.compact(entry["after"])
            return row
        }
        return await self.ui.render("audit", title: "Audit log", data: ["entries": rows, "hasEntries": !rows.isEmpty], page: page)
    }
}
