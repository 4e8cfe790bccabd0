import Foundation
import Hummingbird
import SfdestJSON
import Store

/// A destination's pages: monitoring (runs, failures, audiences, alerts), one record, and the
/// setup steps (mapping, audiences, review).
extension UIPages {
    /// Rows a mapping or audiences form is drawn with at most.
    static let maxRows = 250

    func destinationId(_ page: UIPage) throws -> String {
        try page.context.parameters.require("id")
    }

    func apiPath(_ id: String, _ rest: String = "") -> String {
        "/v1/destinations/\(UIValue.pathComponent(id))\(rest)"
    }

    /// What every destination page shows at its top: the destination and its steps.
    func header(_ page: UIPage, _ destination: JSON, step: String) -> [String: Any] {
        var data: [String: Any] = ["destination": UIValue.object(destination), "step_" + step: true]
        data["statusClass"] = UIValue.statusClass(destination["status"]?.stringValue)
        data["enabled"] = destination["status"]?.stringValue == "enabled"
        data["canActivate"] = page.grants(.activateDestinations)
        data["canManage"] = page.grants(.manageDestinations)
        return data
    }

    // MARK: monitoring

    func destination(_ page: UIPage) async throws -> Response {
        let id = try self.destinationId(page)
        let destination = try await page.get(self.apiPath(id))
        var data = self.header(page, destination, step: "monitor")
        if destination["status"]?.stringValue == "paused_policy" {
            data["pausedByPolicy"] = true
            data["violations"] = Self.problemRows(destination["policyViolations"])
        }
        let runs = try await page.get(self.apiPath(id, "/runs?limit=48")).arrayValue ?? []
        data["runs"] = runs.prefix(24).map { run -> [String: Any] in
            var row = UIValue.object(run)
            row["startShown"] = UIValue.time(run["start"]?.stringValue)
            row["rate"] = String(format: "%.0f%%", (run["activationRate"]?.numberValue ?? 0) * 100)
            return row
        }
        data["hasRuns"] = !runs.isEmpty
        data["chart"] = UIChart.runs(runs)
        let failures = try await page.get(self.apiPath(id, "/failures"))
        let groups = (failures["groups"]?.arrayValue ?? []).map { group -> [String: Any] in
            var row = UIValue.object(group)
            row["samples"] = (group["sampleRecordIds"]?.arrayValue ?? []).compactMap(\.stringValue).map { sample -> [String: Any] in
                ["id": sample, "href": "/ui/destinations/\(UIValue.pathComponent(id))/record?recordId=\(UIValue.queryValue(sample))"]
            }
            return row
        }
        data["failures"] = groups
        data["hasFailures"] = !groups.isEmpty
        data["failedCount"] = groups.reduce(0) { $0 + (($1["count"] as? Int) ?? 0) }
        if page.grants(.viewSegments) {
            let segments = try await page.get(self.apiPath(id, "/segments"))
            data["segments"] = UIValue.objects(segments)
            data["hasSegments"] = !(segments.arrayValue ?? []).isEmpty
            data["viewSegments"] = true
        }
        let alerts = try await page.get("/v1/alerts?destinationId=\(UIValue.queryValue(id))&limit=20").arrayValue ?? []
        data["alerts"] = alerts.map { alert -> [String: Any] in
            var row = UIValue.object(alert)
            row["openedShown"] = UIValue.time(alert["openedAt"]?.stringValue)
            row["stateClass"] = alert["state"]?.stringValue == "open" ? "bad" : "ok"
            return row
        }
        data["hasAlerts"] = !alerts.isEmpty
        data["alertSettings"] = UIValue.object(try await page.get(self.apiPath(id, "/alerts")))
        data["viewProfiles"] = page.grants(.viewProfiles)
        data["refresh"] = UIValue.isBusy(destination)
        data["lastDeliveryShown"] = UIValue.time(destination["lastDeliveryAt"]?.stringValue)
        return await self.ui.render("destination", title: destination["name"]?.stringValue ?? "Destination", data: data, page: page)
    }

    func enable(_ page: UIPage) async throws -> Response {
        let id = try self.destinationId(page)
        let answer = try await page.api(.post, self.apiPath(id, "/enable"))
        if answer.ok {
            return await page.redirect("/ui/destinations/\(id)", UIFlash(kind: .success, message: "Enabled: stored profiles are being sent, and every change from now on."))
        }
        return await page.redirect("/ui/destinations/\(id)/review", answer.flash)
    }

    func disable(_ page: UIPage) async throws -> Response {
        let id = try self.destinationId(page)
        let answer = try await page.api(.post, self.apiPath(id, "/disable"))
        return await page.redirect("/ui/destinations/\(id)", answer.ok ? UIFlash(kind: .success, message: "Disabled: nothing more is sent until it is enabled again.") : answer.flash)
    }

    func deleteDestination(_ page: UIPage) async throws -> Response {
        let id = try self.destinationId(page)
        let answer = try await page.api(.delete, self.apiPath(id))
        if answer.ok { return await page.redirect("/ui/", UIFlash(kind: .success, message: "Destination deleted, with its queue and history.")) }
        return await page.redirect("/ui/destinations/\(id)", answer.flash)
    }

    /// Replay: failed records of one code (or all) queued again.
    func retry(_ page: UIPage) async throws -> Response {
        let id = try self.destinationId(page)
        let body: JSON = page.form.text("code").map { ["codes": [.string($0)]] } ?? [:]
        let answer = try await page.api(.post, self.apiPath(id, "/failures/retry"), body)
        guard answer.ok else { return await page.redirect("/ui/destinations/\(id)", answer.flash) }
        let count = Int(answer.json["requeued"]?.numberValue ?? 0)
        return await page.redirect("/ui/destinations/\(id)", UIFlash(kind: .success, message: "\(count) record\(count == 1 ? "" : "s") queued again."))
    }

    func saveAlertSettings(_ page: UIPage) async throws -> Response {
        let id = try self.destinationId(page)
        let form = page.form
        var body: [(String, JSON)] = []
        for name in ["skipRateThreshold", "skipRateMinimumReceived", "delayThresholdSeconds"] {
            guard let text = form.text(name) else { continue }
            body.append((name, Double(text).map { JSON.double($0) } ?? .string(text)))
        }
        body.append(("runStart", .bool(form["runStart"] == "on")))
        body.append(("runSuccess", .bool(form["runSuccess"] == "on")))
        let answer = try await page.api(.put, self.apiPath(id, "/alerts"), .object(body))
        return await page.redirect("/ui/destinations/\(id)#alerts", answer.ok ? UIFlash(kind: .success, message: "Alert settings saved.") : answer.flash)
    }

    func record(_ page: UIPage) async throws -> Response {
        let id = try self.destinationId(page)
        let destination = try await page.get(self.apiPath(id))
        var data = self.header(page, destination, step: "monitor")
        let recordId = (page.request.uri.queryParameters.get("recordId") ?? "").trimmingCharacters(in: .whitespaces)
        data["recordId"] = recordId
        if !recordId.isEmpty {
            let answer = try await page.api(.get, self.apiPath(id, "/records/\(UIValue.pathComponent(recordId))"))
            if answer.ok {
                var record = UIValue.object(answer.json)
                record["acknowledgedRows"] = Self.fieldRows(answer.json["acknowledged"])
                record["pendingRows"] = Self.fieldRows(answer.json["pending"])
                let history: [[String: Any]] = (answer.json["history"]?.arrayValue ?? []).map { (entry: JSON) -> [String: Any] in
                    var row = UIValue.object(entry)
                    row["atShown"] = UIValue.time(entry["at"]?.stringValue)
                    row["sentShown"] = UIValue.compact(entry["sent"])
                    return row
                }
                record["history"] = history
                data["record"] = record
            } else {
                data["recordError"] = answer.errorMessage
            }
        }
        return await self.ui.render("record", title: "Record", data: data, page: page)
    }

    static func fieldRows(_ json: JSON?) -> [[String: Any]] {
        (json?.objectValue ?? []).map { ["name": $0.0, "value": UIValue.compact($0.1)] }
    }

    // MARK: mapping

    /// The org's fields of the destination's object, or why they cannot be read now.
    func orgFields(_ page: UIPage, _ id: String) async throws -> (fields: [JSON], problem: String?) {
        let answer = try await page.api(.get, self.apiPath(id, "/fields"))
        guard answer.ok else { return ([], answer.errorMessage) }
        return (answer.json["fields"]?.arrayValue ?? [], nil)
    }

    func mapping(_ page: UIPage, rows given: [(String, String)]? = nil, flash: UIFlash? = nil) async throws -> Response {
        let id = try self.destinationId(page)
        let destination = try await page.get(self.apiPath(id))
        var data = self.header(page, destination, step: "mapping")
        let (fields, fieldsProblem) = try await self.orgFields(page, id)
        if let fieldsProblem { data["fieldsProblem"] = fieldsProblem }
        var sources: [JSON] = []
        if page.grants(.viewProfiles) {
            let answer = try await page.api(.get, "/v1/profiles/sources?limit=500")
            if answer.ok {
                sources = answer.json["sources"]?.arrayValue ?? []
                data["profilesRead"] = Int(answer.json["profilesRead"]?.numberValue ?? 0)
            }
        }
        if page.grants(.viewDestinations) {
            for (key, value) in try await self.labelsPanel(page, destination: destination) { data[key] = value }
        }
        data["sources"] = sources.map { source -> [String: Any] in
            let samples = (source["samples"]?.arrayValue ?? []).compactMap(\.stringValue)
            return ["source": source["source"]?.stringValue ?? "", "hint": "\(Int(source["profiles"]?.numberValue ?? 0)) profiles, e.g. \(samples.joined(separator: ", "))"]
        }
        let upsert = destination["operation"]?.stringValue == "upsert"
        var targets: [(value: String, label: String)] = []
        if upsert {
            for field in fields where field["externalId"]?.boolValue == true || field["idLookup"]?.boolValue == true && field["custom"]?.boolValue == true {
                let name = field["name"]?.stringValue ?? ""
                targets.append(("identity:ExternalId:\(name)", "External Id: \(field["label"]?.stringValue ?? name) (\(name)) — the record key"))
            }
        } else {
            targets.append(("identity:SalesforceId", "Salesforce Id — the record key (mandatory)"))
        }
        var required: [String] = []
        for field in fields where field["updateable"]?.boolValue == true && field["longTextArea"]?.boolValue != true {
            let name = field["name"]?.stringValue ?? ""
            let isRequired = field["required"]?.boolValue == true
            if isRequired { required.append(name) }
            let type = field["type"]?.stringValue ?? ""
            let length = Int(field["length"]?.numberValue ?? 0)
            targets.append(("attribute:\(name)", "\(field["label"]?.stringValue ?? name) (\(name)) — \(type)\(length > 0 ? "(\(length))" : "")\(isRequired ? ", required" : "")"))
        }
        data["requiredFields"] = required.joined(separator: ", ")
        var rows: [(String, String)]
        if let given {
            rows = given
        } else {
            rows = (destination["mappings"]?.arrayValue ?? []).map { ($0["source"]?.stringValue ?? "", $0["target"]?.stringValue ?? "") }
            if rows.isEmpty {
                // A start: the record key from the first identity namespace, then each required field.
                let identity = sources.compactMap { $0["source"]?.stringValue }.first { $0.hasPrefix("identityMap:") } ?? ""
                rows.append((identity, targets.first?.value ?? "identity:SalesforceId"))
                rows += required.map { ("", "attribute:\($0)") }
            }
        }
        // A person fills in dozens of rows; a redrawn form holds no more than `maxRows`.
        rows = Array(rows.prefix(Self.maxRows)) + Array(repeating: ("", ""), count: 2)
        let known = Set(targets.map(\.value))
        data["rows"] = rows.enumerated().map { index, row -> [String: Any] in
            var options: [[String: Any]] = targets.map { ["value": $0.value, "label": $0.label, "selected": $0.value == row.1] }
            if !row.1.isEmpty, !known.contains(row.1) {
                options.insert(["value": row.1, "label": "\(row.1) (not in the org's describe)", "selected": true], at: 0)
            }
            return ["index": index, "number": index + 1, "source": row.0, "options": options, "isKey": index == 0]
        }
        return await self.ui.render(
            "mapping", title: "Mapping", data: data, page: page, refused: flash
        )
    }

    /// The mapping rows of a form, in order, without the empty ones.
    static func mappingRows(_ form: UIForm) -> [(String, String)] {
        zip(form.all("source"), form.all("target")).map {
            ($0.trimmingCharacters(in: .whitespaces), $1.trimmingCharacters(in: .whitespaces))
        }.filter { !$0.0.isEmpty || !$0.1.isEmpty }
    }

    static func mappingsBody(_ rows: [(String, String)]) -> JSON {
        .array(rows.map { ["source": .string($0.0), "target": .string($0.1)] })
    }

    func saveMapping(_ page: UIPage) async throws -> Response {
        let id = try self.destinationId(page)
        let rows = Self.mappingRows(page.form)
        let answer = try await page.api(.put, self.apiPath(id, "/mappings"), Self.mappingsBody(rows))
        guard answer.ok else { return try await self.mapping(page, rows: rows, flash: answer.flash) }
        return await page.redirect("/ui/destinations/\(id)/audiences", UIFlash(kind: .success, message: "Mapping saved. Next: pick the audiences to send."))
    }

    // MARK: audiences

    struct AudienceRow {
        var segmentId = ""
        var mappingId = ""
        var startDate = ""
        var endDate = ""
        var active = false
        var members: Any = ""
    }

    func audiences(_ page: UIPage, rows given: [AudienceRow]? = nil, flash: UIFlash? = nil) async throws -> Response {
        let id = try self.destinationId(page)
        let destination = try await page.get(self.apiPath(id))
        var data = self.header(page, destination, step: "audiences")
        let (fields, fieldsProblem) = try await self.orgFields(page, id)
        if let fieldsProblem { data["fieldsProblem"] = fieldsProblem }
        data["longTextAreas"] = fields.filter { $0["longTextArea"]?.boolValue == true && $0["updateable"]?.boolValue == true }.map {
            ["name": $0["name"]?.stringValue ?? "", "label": $0["label"]?.stringValue ?? ""]
        }
        var seen: [String: JSON] = [:]
        if page.grants(.viewSegments) {
            let answer = try await page.api(.get, "/v1/audiences")
            if answer.ok {
                for audience in answer.json.arrayValue ?? [] { seen[audience["segmentId"]?.stringValue ?? ""] = audience }
            }
        }
        var rows: [AudienceRow]
        if let given {
            rows = given
        } else {
            rows = (destination["segments"]?.arrayValue ?? []).map {
                AudienceRow(
                    segmentId: $0["segmentId"]?.stringValue ?? "", mappingId: $0["mappingId"]?.stringValue ?? "",
                    startDate: $0["startDate"]?.stringValue ?? "", endDate: $0["endDate"]?.stringValue ?? "", active: true
                )
            }
            let configured = Set(rows.map(\.segmentId))
            rows += seen.keys.sorted().filter { !configured.contains($0) }.map { AudienceRow(segmentId: $0) }
        }
        rows = Array(rows.prefix(Self.maxRows)) + Array(repeating: AudienceRow(), count: 2)
        for index in rows.indices {
            if let audience = seen[rows[index].segmentId] {
                rows[index].members = "\(Int(audience["members"]?.numberValue ?? 0)) members (\(Int(audience["realized"]?.numberValue ?? 0)) realized, \(Int(audience["existing"]?.numberValue ?? 0)) existing, \(Int(audience["exited"]?.numberValue ?? 0)) exited)"
            }
        }
        let used = Set(rows.filter { $0.active && !$0.mappingId.isEmpty }.map { $0.mappingId.lowercased().replacingOccurrences(of: "__c", with: "") })
        data["fieldsUsed"] = used.count
        data["maxFields"] = 25
        data["rows"] = rows.enumerated().map { index, row -> [String: Any] in
            [
                "index": index, "segmentId": row.segmentId, "mappingId": row.mappingId, "startDate": row.startDate, "endDate": row.endDate,
                "active": row.active, "members": row.members, "known": !row.segmentId.isEmpty && given == nil,
            ]
        }
        return await self.ui.render(
            "audiences", title: "Audiences", data: data, page: page, refused: flash
        )
    }

    /// The audience rows of a form: each row's fields by index, active when its box is ticked.
    static func audienceRows(_ form: UIForm) -> [AudienceRow] {
        let ids = form.all("segmentId"), mappingIds = form.all("mappingId"), starts = form.all("startDate"), ends = form.all("endDate")
        let active = Set(form.all("active"))
        return ids.indices.map { index in
            func at(_ values: [String]) -> String { index < values.count ? values[index].trimmingCharacters(in: .whitespaces) : "" }
            return AudienceRow(
                segmentId: at(ids), mappingId: at(mappingIds), startDate: at(starts), endDate: at(ends), active: active.contains(String(index))
            )
        }.filter { !$0.segmentId.isEmpty || !$0.mappingId.isEmpty }
    }

    static func segmentsBody(_ rows: [AudienceRow]) -> JSON {
        .array(rows.filter(\.active).map { row in
            var item: [(String, JSON)] = [("segmentId", .string(row.segmentId)), ("mappingId", .string(row.mappingId))]
            if !row.startDate.isEmpty { item.append(("startDate", .string(row.startDate))) }
            if !row.endDate.isEmpty { item.append(("endDate", .string(row.endDate))) }
            return .object(item)
        })
    }

    func saveAudiences(_ page: UIPage) async throws -> Response {
        let id = try self.destinationId(page)
        let rows = Self.audienceRows(page.form)
        let answer = try await page.api(.put, self.apiPath(id, "/segments"), Self.segmentsBody(rows))
        guard answer.ok else { return try await self.audiences(page, rows: rows, flash: answer.flash) }
        return await page.redirect("/ui/destinations/\(id)/review", UIFlash(kind: .success, message: "Audiences saved. Next: review and enable."))
    }

    /// The as-you-type check of the mapping or audiences form: the API's preflight on the draft,
    /// as JSON for the page's script (`{"ready", "problems": [{"field", "message"}]}`).
    func check(_ page: UIPage) async throws -> Response {
        let id = try self.destinationId(page)
        let list = page.form["list"] == "segments" ? "segments" : "mappings"
        let draft: JSON = list == "segments"
            ? ["segments": Self.segmentsBody(Self.audienceRows(page.form))]
            : ["mappings": Self.mappingsBody(Self.mappingRows(page.form))]
        let answer = try await page.api(.post, self.apiPath(id, "/preflight"), draft)
        guard answer.ok else {
            return JSON.object([("ready", .bool(false)), ("problems", [["field": "", "message": .string(answer.errorMessage)]])]).response()
        }
        // Only this form's own problems: the other list is checked on its own page.
        let problems = (answer.json["problems"]?.arrayValue ?? []).filter { problem in
            let field = problem["field"]?.stringValue ?? ""
            let other = list == "segments" ? "mappings" : "segments"
            return !field.hasPrefix(other)
        }
        return JSON.object([("ready", .bool(problems.isEmpty)), ("problems", .array(problems))]).response()
    }

    // MARK: review

    func review(_ page: UIPage) async throws -> Response {
        let id = try self.destinationId(page)
        let destination = try await page.get(self.apiPath(id))
        var data = self.header(page, destination, step: "review")
        let answer = try await page.api(.post, self.apiPath(id, "/preflight?fresh=true"))
        if answer.ok {
            let problems = Self.problemRows(answer.json["problems"])
            data["problems"] = problems
            data["hasProblems"] = !problems.isEmpty
            data["ready"] = problems.isEmpty
        } else {
            data["checkError"] = answer.errorMessage
        }
        data["mappings"] = UIValue.objects(destination["mappings"])
        data["segments"] = UIValue.objects(destination["segments"])
        return await self.ui.render("review", title: "Review", data: data, page: page)
    }

    /// Problems (or policy violations) for a page: each with the step that fixes it (`where`).
    /// A violation names its destination, which must not hide the page's own `destination`.
    static func problemRows(_ problems: JSON?) -> [[String: Any]] {
        UIValue.objects(problems).map { problem in
            var row = problem
            row["where"] = Self.problemPlace(problem["field"] as? String ?? "")
            row["destination"] = nil
            return row
        }
    }

    /// Which step fixes a problem, by where it is (`mappings[1].target`: the mapping page).
    static func problemPlace(_ field: String) -> String {
        if field.hasPrefix("mappings") { return "mapping" }
        if field.hasPrefix("segments") { return "audiences" }
        return ""
    }
}
