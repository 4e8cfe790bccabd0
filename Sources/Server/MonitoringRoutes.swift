import Activation
import Delivery
import Foundation
import Hummingbird
import Ingest
import Logging
import SfdestJSON
import Store

/// What a destination did: hourly runs, failures (and their replay), audiences, single records.
struct MonitoringRoutes: Sendable {
    let destinations: DestinationRoutes

    /// The optional body of `POST .../failures/retry`.
    struct RetryRequest: Decodable, Sendable {
        var codes: [String]?
        var recordIds: [String]?
    }

    private var store: any SfdestStore { self.destinations.services.store }

    func register(on group: RouterGroup<SfdestRequestContext>) {
        group.get("destinations/{id}/runs") { request, context in try await self.runs(context.parameters.require("id"), request) }
        group.get("destinations/{id}/failures") { _, context in try await self.failures(context.parameters.require("id")) }
        group.post("destinations/{id}/failures/retry") { request, context in try await self.retry(context.parameters.require("id"), request) }
        group.get("destinations/{id}/segments") { _, context in try await self.segments(context.parameters.require("id")) }
        group.get("destinations/{id}/records/{recordId}") { _, context in
            try await self.record(context.parameters.require("id"), context.parameters.require("recordId"))
        }
    }

    /// Hourly windows, newest first (`?limit=`, default a week).
    func runs(_ id: String, _ request: Request) async throws -> Response {
        _ = try await self.destinations.load(id)
        let limit = request.uri.queryParameters.get("limit", as: Int.self).map { min(max($0, 1), 10_000) } ?? 168
        let runs = try await self.store.runs(destinationId: id, limit: limit)
        let now = Date()
        return JSON.array(runs.map { run in
            [
                "start": .date(run.start), "end": .date(run.end),
                "status": .string(run.unresolved > 0 ? "processing" : "completed"),
                "profilesReceived": .int(run.received), "identitiesActivated": .int(run.activated),
                "identitiesUnchanged": .int(run.unchanged), "identitiesExcluded": .int(run.excluded),
                "identitiesFailed": .int(run.failed),
                "activationRate": .double(run.received > 0 ? Double(run.activated) / Double(run.received) : 0),
                "processingSeconds": run.processingSeconds(now: now).map(JSON.double) ?? .null,
                "firstReceivedAt": .date(run.firstReceivedAt), "lastResolvedAt": .date(run.lastResolvedAt),
            ]
        }).response()
    }

    func failures(_ id: String) async throws -> Response {
        _ = try await self.destinations.load(id)
        let groups = try await self.store.failures(destinationId: id)
        let items: [JSON] = groups.map { group in
            [
                "kind": .string(group.kind), "code": .string(group.code), "count": .int(group.count),
                "message": .string(group.message), "fields": .array(group.fields.map(JSON.string)),
                "sampleRecordIds": .array(group.sampleRecordIds.map(JSON.string)),
            ]
        }
        return JSON(dictionaryLiteral: ("groups", .array(items))).response()
    }

    /// Queues failed records again (all, or those with the given codes or record Ids).
    func retry(_ id: String, _ request: Request) async throws -> Response {
        _ = try await self.destinations.load(id)
        let body = try await RequestJSON.decode(
            RetryRequest.self, from: request, limit: self.destinations.settings.maxConfigurationBodyBytes, empty: RetryRequest()
        )
        let requeued = try await self.store.retryFailures(destinationId: id, codes: body.codes, recordIds: body.recordIds, now: Date())
        try await self.destinations.services.audit(.failuresRetry, id, after: [
            "codes": body.codes.map { JSON.array($0.map(JSON.string)) } ?? .null,
            "recordIds": body.recordIds.map { JSON.array($0.map(JSON.string)) } ?? .null, "requeued": .int(requeued),
        ])
        self.destinations.services.delivery.nudge([id])
        self.destinations.logger.notice("failures re-queued", metadata: ["destination": "\(id)", "records": "\(requeued)"])
        return JSON(dictionaryLiteral: ("requeued", .int(requeued))).response()
    }

    /// The activation data: each audience with its Mapping ID, dates and profile counts.
    func segments(_ id: String) async throws -> Response {
        let destination = try await self.destinations.load(id)
        let counts = try await self.store.audienceCounts(segmentIds: destination.segments.map(\.segmentId))
        return JSON.array(destination.segments.map { segment in
            let fieldName = (try? AudienceSchedule(segmentId: segment.segmentId, mappingId: segment.mappingId))?.fieldName ?? segment.mappingId
            let count = counts[segment.segmentId] ?? AudienceCounts()
            return [
                "segmentId": .string(segment.segmentId), "mappingId": .string(fieldName),
                "startDate": .string(segment.startDate), "endDate": .string(segment.endDate),
                "profiles": ["realized": .int(count.realized), "existing": .int(count.existing), "exited": .int(count.exited)],
                "lastDelivery": .date(destination.lastDeliveryAt),
            ]
        }).response()
    }

    /// What Salesforce last acknowledged for a record, what waits, and the last error.
    func record(_ id: String, _ text: String) async throws -> Response {
        let destination = try await self.destinations.load(id)
        let lookup: String
        if destination.operation == .upsert {
            // The Salesforce Id the upsert answered, or the external Id value itself.
            guard !text.isEmpty, text.count <= ActivationPlan.maxExternalIdLength else {
                throw APIError(status: .badRequest, code: "invalid_record_id", message: "'\(text.prefix(64))' is neither a Salesforce record Id nor an external Id value (1 to \(ActivationPlan.maxExternalIdLength) characters)")
            }
            lookup = text
        } else {
            do {
                lookup = try SalesforceRecordID(text).value
            } catch {
                throw APIError(status: .badRequest, code: "invalid_record_id", message: "'\(text)' is not a Salesforce record Id: \(error.description)")
            }
        }
        guard let state = try await self.store.recordState(destinationId: id, recordId: lookup) else {
            throw APIError(
                status: .notFound, code: "record_not_found",
                message: "destination \(id) has nothing for record \(lookup): no profile with this \(destination.operation == .upsert ? "external Id value or " : "")Id was received for it"
            )
        }
        let history = try await self.store.recordHistory(destinationId: id, recordId: state.recordId, limit: 50)
        let lastError: JSON = state.lastError.map { error in
            [
                "kind": .string(error.kind), "code": .string(error.code), "message": .string(error.message),
                "fields": .array(error.fields.map(JSON.string)), "at": .date(error.at),
            ]
        } ?? .null
        return JSON(dictionaryLiteral:
            ("recordId", .string(state.recordId)),
            ("salesforceId", .string(state.address?.salesforceId ?? (destination.operation == .update ? state.recordId : nil))),
            ("salesforceObject", .string(state.address?.objectType ?? destination.objectType.rawValue)),
            ("acknowledged", fieldsJSON(state.acknowledged)),
            ("acknowledgedAt", .date(state.acknowledgedAt)),
            ("pending", fieldsJSON(state.pending)),
            ("inFlight", state.inFlight.map(fieldsJSON) ?? .null),
            ("attempts", .int(state.attempts)),
            ("lastError", lastError),
            ("history", .array(history.map(historyJSON)))
        ).response()
    }
}

/// One entry of a record's history: when, what happened, on which attempt, with which code, and
/// what was sent.
func historyJSON(_ entry: RecordHistoryEntry) -> JSON {
    var members: [(String, JSON)] = [
        ("at", .date(entry.at)),
        ("event", .string(entry.event.rawValue)),
        ("attempt", .int(entry.attempt)),
    ]
    if let code = entry.code { members.append(("code", .string(code))) }
    if let message = entry.message { members.append(("message", .string(message))) }
    if !entry.fields.isEmpty { members.append(("sent", fieldsJSON(entry.fields))) }
    if !entry.errorFields.isEmpty { members.append(("fields", .array(entry.errorFields.map(JSON.string)))) }
    return .object(members)
}
