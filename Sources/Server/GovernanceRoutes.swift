import Activation
import Foundation
import Hummingbird
import Ingest
import Logging
import SfdestJSON
import Store

/// `PUT`/`GET /v1/labels`: data usage labels on sources, and the policies they are checked by. A
/// label put on a source that an enabled destination exports, against a policy, pauses that
/// destination (`paused_policy`) in the same transaction; taking the label off resumes it.
struct GovernanceRoutes: Sendable {
    let destinations: DestinationRoutes
    var services: SfdestServices { self.destinations.services }
    var logger: Logger { self.destinations.logger }

    /// One line of the labels body.
    struct LabelItem: Decodable, Sendable {
        var source: String?
        var labels: [String]?

        enum CodingKeys: String, CodingKey { case source, labels }

        init(from decoder: any Decoder) throws {
            let container = try decoder.lenientContainer(keyedBy: CodingKeys.self)
            self.source = try container.lenient(String.self, forKey: .source, decoder: decoder)
            self.labels = try container.lenient([String].self, forKey: .labels, decoder: decoder)
        }
    }

    func register(on group: RouterGroup<SfdestRequestContext>) {
        group.get("labels") { _, _ in try await self.list() }
        group.put("labels") { request, _ in try await self.replace(request) }
    }

    func list() async throws -> Response {
        labelsJSON(try await self.services.store.labels()).response()
    }

    func replace(_ request: Request) async throws -> Response {
        let items = try await RequestJSON.decode([Lenient<LabelItem>].self, from: request, limit: self.destinations.settings.maxConfigurationBodyBytes)
            .compactMap(\.value)
        let labels = try Self.check(items)
        let before = try await self.services.store.labels()
        // Every activated destination checked against the new labels, saved with them.
        var paused: [(Destination, [PolicyViolation])] = []
        var resumed: [Destination] = []
        for var destination in try await self.services.store.destinations() where destination.status.isActivated {
            let violations = PolicyCheck.violations(destination, labels: labels)
            if destination.status == .enabled, !violations.isEmpty {
                destination.status = .pausedPolicy
                destination.updatedAt = Date()
                paused.append((destination, violations))
            } else if destination.status == .pausedPolicy, violations.isEmpty {
                destination.status = .enabled
                destination.updatedAt = Date()
                resumed.append(destination)
            }
        }
        try await self.services.store.replaceLabels(labels, saving: paused.map(\.0) + resumed)
        try await self.services.audit(.labelsReplace, nil, before: labelsJSON(before), after: labelsJSON(labels))
        for (destination, violations) in paused {
            await self.services.delivery.destinationChanged(destination.id)
            await self.services.signals.publish(.destinationChanged(destination.id))
            self.logger.warning("destination paused: a label breaks a data usage policy, nothing is sent until the mapping or the label changes", metadata: [
                "destination": "\(destination.id)", "violations": "\(violations.map(\.description).joined(separator: "; "))",
            ])
        }
        for destination in resumed {
            try await self.destinations.activate(destination)
            self.logger.notice("destination resumed: its mappings break no data usage policy any more", metadata: ["destination": "\(destination.id)"])
        }
        self.logger.notice("labels replaced", metadata: ["sources": "\(labels.count)", "paused": "\(paused.count)", "resumed": "\(resumed.count)"])
        return labelsJSON(labels).response()
    }

    /// The body read as labels, every problem at once; a source given twice has the labels of both.
    static func check(_ items: [LabelItem]) throws -> [SourceLabels] {
        var problems: [ConfigurationProblem] = []
        var bySource: [String: SourceLabels] = [:]
        var order: [String] = []
        for (index, item) in items.enumerated() {
            if item.source == nil { problems.append(ConfigurationProblem(field: "source", message: "required, such as xdm:personalEmail.address").at(index: index)) }
            if item.labels == nil { problems.append(ConfigurationProblem(field: "labels", message: "required: a list such as [\"C2\"] ([] takes every label off)").at(index: index)) }
            guard let source = item.source, let names = item.labels else { continue }
            do {
                let parsed = try SourceLabels(source: source, labels: names)
                let key = parsed.source.text
                if let known = bySource[key] {
                    bySource[key]?.labels = Array(Set(known.labels + parsed.labels)).sorted()
                } else {
                    bySource[key] = parsed
                    order.append(key)
                }
            } catch {
                problems += error.problems.map { $0.at(index: index) }
            }
        }
        guard problems.isEmpty else { throw APIError.problems(problems, code: "validation_failed", summary: "the labels are not valid") }
        return order.compactMap { bySource[$0] }.filter { !$0.labels.isEmpty }.sorted { $0.source.text < $1.source.text }
    }
}

/// The data usage policies checked against a destination's mappings and marketing actions.
enum PolicyCheck {
    /// Every violation of the core policies by the destination under `labels`.
    static func violations(_ destination: Destination, labels: [SourceLabels]) -> [PolicyViolation] {
        // Mappings that do not parse are the enable check's business; the others are checked.
        let mappings = destination.mappings.compactMap { try? Mapping(source: $0.source, target: $0.target) }
        return Governance.violations(mappings: mappings, actions: destination.marketingActions, labels: labels)
    }

    /// The violations of the destination under the stored labels.
    static func violations(_ destination: Destination, store: any GovernanceStore) async throws -> [PolicyViolation] {
        Self.violations(destination, labels: try await store.labels())
    }

    /// One `details` entry per violation, as the contract writes it.
    static func details(_ violations: [PolicyViolation], destination: Destination) -> [JSON] {
        violations.map { violation in
            .object([
                ("code", "policy_violation"),
                ("policy", .string(violation.policy.id)),
                ("policyName", .string(violation.policy.name)),
                ("label", .string(violation.label.rawValue)),
                ("source", .string(violation.source)),
                ("target", .string(violation.target)),
                ("destination", .string(destination.id)),
                ("marketingAction", .string(violation.action.rawValue)),
                ("labelledSource", .string(violation.labelledSource)),
                ("field", .string("mappings[\(violation.mappingIndex)].source")),
                ("message", .string(violation.description)),
            ])
        }
    }
}

extension APIError {
    /// 422 `validation_failed`: the configuration's problems and the policies it breaks, each in
    /// `details`.
    static func refused(_ problems: [ConfigurationProblem], violations: [PolicyViolation], destination: Destination, summary: String) -> APIError {
        var error = APIError.problems(problems, code: "validation_failed", summary: summary)
        guard !violations.isEmpty else { return error }
        error.details += PolicyCheck.details(violations, destination: destination)
        let count = problems.count + violations.count
        error.message = count == 1
            ? "\(summary): \(violations[0].description)"
            : "\(summary): \(count) problems (\(violations.count) data usage policy violation\(violations.count == 1 ? "" : "s")), each listed in details"
        return error
    }
}

/// The labels as the API shows them.
func labelsJSON(_ labels: [SourceLabels]) -> JSON {
    .array(labels.map { ["source": .string($0.source.text), "labels": .array($0.labels.map { .string($0.rawValue) })] })
}
