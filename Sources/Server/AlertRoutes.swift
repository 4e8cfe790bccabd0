import Foundation
import Hummingbird
import SfdestBasics
import SfdestJSON
import Store

/// `/v1/alerts`: alerts newest first, webhook subscriptions, and each destination's alert settings.
struct AlertRoutes: Sendable {
    let destinations: DestinationRoutes

    private var store: any SfdestStore { self.destinations.services.store }

    func register(on group: RouterGroup<SfdestRequestContext>) {
        group.get("alerts") { request, _ in try await self.list(request) }
        group.post("alerts/subscriptions") { request, _ in try await self.subscribe(request) }
        group.get("alerts/subscriptions") { _, _ in try await self.subscriptions() }
        group.delete("alerts/subscriptions/{id}") { _, context in try await self.unsubscribe(context.parameters.require("id")) }
        group.get("destinations/{id}/alerts") { _, context in try await self.settings(context.parameters.require("id")) }
        group.put("destinations/{id}/alerts") { request, context in try await self.replaceSettings(context.parameters.require("id"), request) }
    }

    /// `?state=open|resolved`, `?destinationId=`, `?limit=` (default 100).
    func list(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        var state: AlertState?
        if let text = query.get("state") {
            guard let parsed = AlertState(rawValue: text) else {
                throw APIError(status: .badRequest, code: "invalid_query", message: "state must be open or resolved, not '\(text)'")
            }
            state = parsed
        }
        let limit = query.get("limit", as: Int.self).map { min(max($0, 1), 10_000) } ?? 100
        let alerts = try await self.store.alerts(state: state, destinationId: query.get("destinationId"), limit: limit)
        return JSON.array(alerts.map(alertJSON)).response()
    }

    func subscribe(_ request: Request) async throws -> Response {
        let body = try await RequestJSON.decode(AlertSubscriptionRequest.self, from: request, limit: self.destinations.settings.maxConfigurationBodyBytes)
        var problems = await body.problems(policy: self.destinations.settings.outboundHosts)
        if let destinationId = body.destinationId, try await self.store.destination(id: destinationId) == nil {
            problems.append(.init(field: "destinationId", message: "no destination \(destinationId): list them with GET /v1/destinations, or leave it out for every destination"))
        }
        guard problems.isEmpty, let url = body.url?.trimmingCharacters(in: .whitespaces), let secret = body.secret else {
            throw APIError.problems(problems, code: "validation_failed", summary: "the subscription is not valid")
        }
        let subscription = AlertSubscription(
            id: generateID(prefix: "sub_"), url: url, secret: secret, destinationId: body.destinationId, createdAt: Date()
        )
        try await self.store.saveAlertSubscription(subscription)
        try await self.destinations.services.audit(.subscriptionCreate, subscription.id, after: subscriptionAuditJSON(subscription))
        self.destinations.logger.notice("alert subscription created", metadata: ["subscription": "\(subscription.id)"])
        return subscriptionJSON(subscription).response(.created)
    }

    func subscriptions() async throws -> Response {
        JSON.array(try await self.store.alertSubscriptions().map(subscriptionJSON)).response()
    }

    func unsubscribe(_ id: String) async throws -> Response {
        let before = try await self.store.alertSubscriptions().first { $0.id == id }
        guard try await self.store.deleteAlertSubscription(id: id) else {
            throw APIError(status: .notFound, code: "subscription_not_found", message: "no subscription \(id): list them with GET /v1/alerts/subscriptions")
        }
        try await self.destinations.services.audit(.subscriptionDelete, id, before: before.map(subscriptionAuditJSON) ?? .null)
        self.destinations.logger.notice("alert subscription deleted", metadata: ["subscription": "\(id)"])
        return Response(status: .noContent)
    }

    func settings(_ id: String) async throws -> Response {
        _ = try await self.destinations.load(id)
        return alertSettingsJSON(try await self.store.alertSettings(destinationId: id)).response()
    }

    func replaceSettings(_ id: String, _ request: Request) async throws -> Response {
        _ = try await self.destinations.load(id)
        let body = try await RequestJSON.decode(AlertSettingsRequest.self, from: request, limit: self.destinations.settings.maxConfigurationBodyBytes)
        let current = try await self.store.alertSettings(destinationId: id)
        let settings = try body.applied(to: current)
        try await self.store.saveAlertSettings(settings, destinationId: id)
        try await self.destinations.services.audit(.destinationAlerts, id, before: alertSettingsJSON(current), after: alertSettingsJSON(settings))
        self.destinations.logger.notice("alert settings saved", metadata: ["destination": "\(id)"])
        return alertSettingsJSON(settings).response()
    }
}

func alertJSON(_ alert: Alert) -> JSON {
    [
        "id": .string(alert.id), "rule": .string(alert.rule.rawValue), "destinationId": .string(alert.destinationId),
        "state": .string(alert.state.rawValue), "message": .string(alert.message),
        "details": .object(alert.details.keys.sorted().map { key in
            switch alert.details[key] {
            case .number(let number)?: return (key, number.rounded() == number && abs(number) < 1e15 ? .int(Int(number)) : .double(number))
            case .text(let text)?: return (key, .string(text))
            case nil: return (key, .null)
            }
        }),
        "openedAt": .date(alert.openedAt), "resolvedAt": .date(alert.resolvedAt),
    ]
}

/// A subscription as shown: never its secret, and of its URL only scheme and host (webhook URLs
/// often carry a token in their path).
func subscriptionJSON(_ subscription: AlertSubscription) -> JSON {
    [
        "id": .string(subscription.id), "url": .string(subscription.displayURL), "destinationId": .string(subscription.destinationId),
        "createdAt": .date(subscription.createdAt),
    ]
}

func alertSettingsJSON(_ settings: AlertSettings) -> JSON {
    [
        "skipRateThreshold": .double(settings.skipRateThreshold), "skipRateMinimumReceived": .int(settings.skipRateMinimumReceived),
        "delayThresholdSeconds": .int(settings.delayThresholdSeconds), "runStart": .bool(settings.runStart),
        "runSuccess": .bool(settings.runSuccess),
    ]
}
