import Activation
import Foundation
import Hummingbird
import SfdestJSON
import Store

/// Data usage labels: the list (any key that views destinations), set and removed by an admin key;
/// and the labels a destination's mapping page shows beside its sources.
extension UIPages {
    func labels(_ page: UIPage, flash: UIFlash? = nil) async throws -> Response {
        let labels = try await page.get("/v1/labels").arrayValue ?? []
        let destinations = try await page.get("/v1/destinations").arrayValue ?? []
        let paused = destinations.filter { $0["status"]?.stringValue == "paused_policy" }.map(UIValue.object)
        let data: [String: Any] = [
            "labels": labels.map { Self.labelRow($0, blocked: false) }, "hasLabels": !labels.isEmpty,
            "paused": paused, "hasPaused": !paused.isEmpty,
            "allLabels": DataUsageLabel.allCases.map { ["name": $0.rawValue, "meaning": $0.meaning] },
        ]
        return await self.ui.render("labels", title: "Labels", data: data, page: page, refused: flash)
    }

    /// Replaces one source's labels (none ticked: takes them all off), keeping the others.
    func saveLabels(_ page: UIPage) async throws -> Response {
        let source = page.form.text("source") ?? ""
        return try await self.replaceLabels(page, of: source, with: page.form.all("labels"))
    }

    func removeLabels(_ page: UIPage) async throws -> Response {
        try await self.replaceLabels(page, of: page.form.text("source") ?? "", with: [])
    }

    private func replaceLabels(_ page: UIPage, of source: String, with names: [String]) async throws -> Response {
        let current = try await page.get("/v1/labels").arrayValue ?? []
        var body: [JSON] = current.filter { $0["source"]?.stringValue != source }
        if !names.isEmpty { body.append(["source": .string(source), "labels": .array(names.map(JSON.string))]) }
        let answer = try await page.api(.put, "/v1/labels", .array(body))
        guard answer.ok else { return try await self.labels(page, flash: answer.flash) }
        let paused = (try await page.get("/v1/destinations").arrayValue ?? []).filter { $0["status"]?.stringValue == "paused_policy" }
        let message = paused.isEmpty
            ? "Labels saved."
            : "Labels saved. Paused by a policy: \(paused.compactMap { $0["name"]?.stringValue }.joined(separator: ", ")) (nothing is sent until the mapping or the label changes)."
        return await page.redirect("/ui/labels", UIFlash(kind: paused.isEmpty ? .success : .info, message: message))
    }

    /// The labels that reach the destination's sources, for its mapping page (`blocked` when a
    /// policy forbids the label for one of the destination's marketing actions).
    func labelsPanel(_ page: UIPage, destination: JSON) async throws -> [String: Any] {
        let labels = try await page.get("/v1/labels").arrayValue ?? []
        guard !labels.isEmpty else { return [:] }
        let actions = (destination["marketingActions"]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap(MarketingAction.init(rawValue:)) }
        let rows = labels.map { label -> [String: Any] in
            let names = (label["labels"]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap(DataUsageLabel.init(rawValue:)) }
            let blocked = names.contains { name in actions.contains { action in DataUsagePolicy.core.contains { $0.blocks(name, for: action) } } }
            return Self.labelRow(label, blocked: blocked)
        }
        return ["labels": rows, "hasLabels": true, "actionsShown": actions.map(\.rawValue).joined(separator: ", ")]
    }

    static func labelRow(_ label: JSON, blocked: Bool) -> [String: Any] {
        let names = (label["labels"]?.arrayValue ?? []).compactMap(\.stringValue)
        return [
            "source": label["source"]?.stringValue ?? "", "blocked": blocked,
            "labelList": names.map { ["name": $0, "meaning": DataUsageLabel(rawValue: $0)?.meaning ?? "", "blocked": blocked] },
        ]
    }
}
