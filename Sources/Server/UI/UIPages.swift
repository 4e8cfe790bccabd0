import Foundation
import Hummingbird
import SfdestJSON
import Store

/// The UI's pages: destinations, connections and a new destination here; a destination's setup
/// and monitoring in `UIPages+Destination`; alerts, keys and the audit log in `UIPages+Admin`.
struct UIPages: Sendable {
    let ui: WebUI

    func register(on router: Router<SfdestRequestContext>) {
        func page(_ method: HTTPRequest.Method, _ path: String, _ body: @escaping @Sendable (UIPage) async throws -> Response) {
            router.on(RouterPath(path), method: method) { request, context in
                try await self.ui.signedIn(request, context, body)
            }
        }
        page(.get, "ui/") { try await self.home($0) }
        page(.get, "ui/connections") { try await self.connections($0) }
        page(.post, "ui/connections") { try await self.createConnection($0) }
        page(.post, "ui/connections/{id}/delete") { try await self.deleteConnection($0) }
        page(.get, "ui/destinations/new") { try await self.newDestination($0) }
        page(.post, "ui/destinations") { try await self.createDestination($0) }
        page(.get, "ui/destinations/{id}") { try await self.destination($0) }
        page(.post, "ui/destinations/{id}/enable") { try await self.enable($0) }
        page(.post, "ui/destinations/{id}/disable") { try await self.disable($0) }
        page(.post, "ui/destinations/{id}/delete") { try await self.deleteDestination($0) }
        page(.post, "ui/destinations/{id}/retry") { try await self.retry($0) }
        page(.post, "ui/destinations/{id}/alerts") { try await self.saveAlertSettings($0) }
        page(.get, "ui/destinations/{id}/record") { try await self.record($0) }
        page(.get, "ui/destinations/{id}/mapping") { try await self.mapping($0) }
        page(.post, "ui/destinations/{id}/mapping") { try await self.saveMapping($0) }
        page(.get, "ui/destinations/{id}/audiences") { try await self.audiences($0) }
        page(.post, "ui/destinations/{id}/audiences") { try await self.saveAudiences($0) }
        page(.post, "ui/destinations/{id}/check") { try await self.check($0) }
        page(.get, "ui/destinations/{id}/review") { try await self.review($0) }
        page(.get, "ui/labels") { try await self.labels($0) }
        page(.post, "ui/labels") { try await self.saveLabels($0) }
        page(.post, "ui/labels/remove") { try await self.removeLabels($0) }
        page(.get, "ui/alerts") { try await self.alerts($0) }
        page(.post, "ui/alerts/subscriptions") { try await self.subscribe($0) }
        page(.post, "ui/alerts/subscriptions/{id}/delete") { try await self.unsubscribe($0) }
        page(.get, "ui/keys") { try await self.keys($0) }
        page(.post, "ui/keys") { try await self.createKey($0) }
        page(.post, "ui/keys/{id}/revoke") { try await self.revokeKey($0) }
        page(.get, "ui/audit") { try await self.audit($0) }
    }

    // MARK: destinations

    func home(_ page: UIPage) async throws -> Response {
        guard page.grants(.viewDestinations) else {
            return await self.ui.render("home", title: "Destinations", data: ["noView": true], page: page)
        }
        let connections = try await page.get("/v1/connections").arrayValue ?? []
        let names = UIValue.namesById(connections)
        var busy = false
        let destinations: [[String: Any]] = (try await page.get("/v1/destinations").arrayValue ?? []).map { destination in
            var row = UIValue.object(destination)
            row["connectionName"] = names[destination["connectionId"]?.stringValue ?? ""] ?? ""
            row["statusClass"] = UIValue.statusClass(destination["status"]?.stringValue)
            if UIValue.isBusy(destination) { busy = true }
            return row
        }
        return await self.ui.render("home", title: "Destinations", data: [
            "destinations": destinations, "hasDestinations": !destinations.isEmpty,
            "hasConnections": !connections.isEmpty, "refresh": busy,
        ], page: page)
    }

    func newDestination(_ page: UIPage, values: [String: String] = [:], flash: UIFlash? = nil) async throws -> Response {
        let connections = (try await page.get("/v1/connections").arrayValue ?? []).map { connection in
            var option = UIValue.object(connection)
            option["selected"] = connection["id"]?.stringValue == values["connectionId"]
            return option
        }
        let objectType = values["objectType"] ?? "Contact"
        let operation = values["operation"] ?? "update"
        return await self.ui.render("destinationNew", title: "New destination", data: [
            "connections": connections, "hasConnections": !connections.isEmpty,
            "name": values["name"] ?? "", "description": values["description"] ?? "",
            "contact": objectType == "Contact", "lead": objectType == "Lead",
            "update": operation == "update", "upsert": operation == "upsert",
            "followContact": values["convertedLeads"] == "followContact",
        ], page: page, refused: flash)
    }

    func createDestination(_ page: UIPage) async throws -> Response {
        let form = page.form
        var values: [String: String] = [:]
        for name in ["name", "description", "connectionId", "objectType", "operation", "convertedLeads"] { values[name] = form.text(name) }
        var body: [(String, JSON)] = []
        for name in ["name", "description", "connectionId", "objectType", "operation"] {
            if let value = values[name] { body.append((name, .string(value))) }
        }
        if values["objectType"] == "Lead", values["convertedLeads"] == "followContact" { body.append(("convertedLeads", .string("followContact"))) }
        let answer = try await page.api(.post, "/v1/destinations", .object(body))
        guard answer.ok, let id = answer.json["id"]?.stringValue else {
            return try await self.newDestination(page, values: values, flash: answer.flash)
        }
        return await page.redirect("/ui/destinations/\(id)/mapping", UIFlash(kind: .success, message: "Destination created as a draft. Next: map profile fields to Salesforce fields."))
    }

    // MARK: connections

    func connections(_ page: UIPage, values: [String: String] = [:], flash: UIFlash? = nil) async throws -> Response {
        let connections = (try await page.get("/v1/connections").arrayValue ?? []).map { connection -> [String: Any] in
            var row = UIValue.object(connection)
            row["statusClass"] = UIValue.statusClass(connection["status"]?.stringValue)
            return row
        }
        let type = values["authType"] ?? "password"
        var data: [String: Any] = ["connections": connections, "hasConnections": !connections.isEmpty]
        for (name, value) in values where !UIPages.secretFields.contains(name) { data["v_" + name] = value }
        data["password"] = type == "password"
        data["clientCredentials"] = type == "clientCredentials"
        data["jwtBearer"] = type == "jwtBearer"
        data["useLoginUrl"] = values["loginUrl"] != nil && values["customDomain"] == nil
        return await self.ui.render(
            "connections", title: "Connections", data: data, page: page,
            refused: flash
        )
    }

    /// Fields never sent back to the browser after a refused form.
    static let secretFields: Set<String> = ["password", "securityToken", "clientSecret", "privateKeyPem"]

    func createConnection(_ page: UIPage) async throws -> Response {
        let form = page.form
        var values: [String: String] = [:]
        for name in ["name", "customDomain", "loginUrl", "apiVersion", "authType", "username", "password", "securityToken", "clientId", "clientSecret", "privateKeyPem", "audience"] {
            values[name] = form.text(name)
        }
        let type = values["authType"] ?? "password"
        var auth: [(String, JSON)] = [("type", .string(type))]
        let authFields: [String]
        switch type {
        case "clientCredentials": authFields = ["clientId", "clientSecret"]
        case "jwtBearer": authFields = ["clientId", "username", "privateKeyPem", "audience"]
        default: authFields = ["username", "password", "securityToken", "clientId", "clientSecret"]
        }
        for name in authFields {
            // A PEM pasted into a text area keeps its line breaks; other fields are one line.
            let value = name == "privateKeyPem" ? form["privateKeyPem"].map { $0.replacingOccurrences(of: "\r\n", with: "\n") } : values[name]
            if let value, !value.isEmpty { auth.append((name, .string(value))) }
        }
        var body: [(String, JSON)] = []
        if let name = values["name"] { body.append(("name", .string(name))) }
        if form["loginKind"] == "loginUrl" {
            if let url = values["loginUrl"] { body.append(("loginUrl", .string(url))) }
            values["customDomain"] = nil
        } else {
            if let domain = values["customDomain"] { body.append(("customDomain", .string(domain))) }
            values["loginUrl"] = nil
        }
        if let version = values["apiVersion"] { body.append(("apiVersion", .string(version))) }
        body.append(("auth", .object(auth)))
        let answer = try await page.api(.post, "/v1/connections", .object(body))
        guard answer.ok else {
            if form["loginKind"] == "loginUrl" { values["loginUrl"] = values["loginUrl"] ?? "" }
            return try await self.connections(page, values: values, flash: answer.flash)
        }
        let instance = answer.json["instanceUrl"]?.stringValue ?? "the org"
        return await page.redirect("/ui/connections", UIFlash(kind: .success, message: "Connected: \(answer.json["name"]?.stringValue ?? "the connection") reaches \(instance)."))
    }

    func deleteConnection(_ page: UIPage) async throws -> Response {
        let id = try page.context.parameters.require("id")
        let answer = try await page.api(.delete, "/v1/connections/\(UIValue.pathComponent(id))")
        return await page.redirect("/ui/connections", answer.ok ? UIFlash(kind: .success, message: "Connection deleted; its credentials are erased.") : answer.flash)
    }
}
