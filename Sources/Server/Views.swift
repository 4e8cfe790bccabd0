import Activation
import Delivery
import Foundation
import Store

/// The JSON a connection is shown as. Secrets never appear in it.
func connectionJSON(_ connection: Connection) -> JSONValue {
    var auth: [JSONValue.Member] = [.init(key: "type", value: .string(connection.authType))]
    if let username = connection.username { auth.append(.init(key: "username", value: .string(username))) }
    auth.append(.init(key: "clientId", value: .string(connection.clientId)))
    return .object([
        .init(key: "id", value: .string(connection.id)),
        .init(key: "name", value: .string(connection.name)),
        .init(key: "status", value: .string(connection.status)),
        .init(key: "statusMessage", value: .string(connection.statusMessage)),
        .init(key: "instanceUrl", value: .string(connection.instanceUrl)),
        .init(key: connection.loginKind, value: .string(connection.loginValue)),
        .init(key: "apiVersion", value: .string(connection.apiVersion)),
        .init(key: "auth", value: .object(auth)),
        .init(key: "createdAt", value: .date(connection.createdAt)),
        .init(key: "updatedAt", value: .date(connection.updatedAt)),
    ])
}

func mappingsJSON(_ mappings: [MappingSetting]) -> JSONValue {
    .array(mappings.map { ["source": .string($0.source), "target": .string($0.target)] })
}

func segmentsJSON(_ segments: [SegmentSetting]) -> JSONValue {
    .array(segments.map {
        ["segmentId": .string($0.segmentId), "mappingId": .string($0.mappingId), "startDate": .string($0.startDate), "endDate": .string($0.endDate)]
    })
}

/// What a destination is doing right now, next to its settings.
struct DestinationActivity: Sendable {
    var backlog: Backlog
    var delivery: DeliveryStatus
    var backfillRunning: Bool

    static func of(_ destination: Destination, services: SfdestServices) async throws -> DestinationActivity {
        DestinationActivity(
            backlog: try await services.store.backlog(destinationId: destination.id),
            delivery: await services.delivery.status(of: destination.id),
            backfillRunning: await services.ingest.backfillsRunning.contains(destination.id)
        )
    }
}

func destinationJSON(_ destination: Destination, activity: DestinationActivity) -> JSONValue {
    var delivery: [JSONValue.Member] = [.init(key: "status", value: .string(activity.delivery.name))]
    if let reason = activity.delivery.reason { delivery.append(.init(key: "reason", value: .string(reason))) }
    return [
        "id": .string(destination.id),
        "name": .string(destination.name),
        "description": .string(destination.description),
        "connectionId": .string(destination.connectionId),
        "objectType": .string(destination.objectType.rawValue),
        "status": .string(destination.status.rawValue),
        "mappings": mappingsJSON(destination.mappings),
        "segments": segmentsJSON(destination.segments),
        "createdAt": .date(destination.createdAt),
        "updatedAt": .date(destination.updatedAt),
        "backlog": [
            "pending": .int(activity.backlog.pending), "inFlight": .int(activity.backlog.inFlight),
            "retrying": .int(activity.backlog.retrying), "failed": .int(activity.backlog.failed),
        ],
        "delivery": .object(delivery),
        "deliveryError": .string(destination.deliveryError),
        "lastDeliveryAt": .date(destination.lastDeliveryAt),
        "backfill": .bool(activity.backfillRunning),
    ]
}

/// A destination with its activity, as one JSON object.
func destinationJSON(_ destination: Destination, services: SfdestServices) async throws -> JSONValue {
    destinationJSON(destination, activity: try await DestinationActivity.of(destination, services: services))
}

func fieldValueJSON(_ value: Activation.FieldValue) -> JSONValue {
    switch value {
    case .string(let text): return .string(text)
    case .integer(let number): return .int(Int(number))
    case .double(let number): return .double(number)
    case .bool(let flag): return .bool(flag)
    case .null: return .null
    }
}

func fieldsJSON(_ fields: [String: Activation.FieldValue]) -> JSONValue {
    .object(fields.keys.sorted().map { .init(key: $0, value: fieldValueJSON(fields[$0] ?? .null)) })
}

