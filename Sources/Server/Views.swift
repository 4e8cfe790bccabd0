import Activation
import Delivery
import Foundation
import SalesforceAPI
import SfdestBasics
import SfdestJSON
import Store

/// The JSON a connection is shown as. Secrets never appear in it.
func connectionJSON(_ connection: Connection) -> JSON {
    var auth: [(String, JSON)] = [("type", .string(connection.authType.rawValue))]
    if let username = connection.username { auth.append(("username", .string(username))) }
    auth.append(("clientId", .string(connection.clientId)))
    if let audience = connectionAudience(connection) { auth.append(("audience", .string(audience))) }
    return .object([
        ("id", .string(connection.id)),
        ("name", .string(connection.name)),
        ("status", .string(connection.status.rawValue)),
        ("statusMessage", .string(connection.statusMessage)),
        ("instanceUrl", .string(connection.instanceUrl)),
        (connection.loginKind.rawValue, .string(connection.loginValue)),
        ("apiVersion", .string(connection.apiVersion)),
        ("auth", .object(auth)),
        ("createdAt", .date(connection.createdAt)),
        ("updatedAt", .date(connection.updatedAt)),
    ])
}

/// The audience a JWT bearer connection's assertions carry: the one given, else the login host's
/// default (`https://test.salesforce.com` for a sandbox, ...); nil for the other flows.
func connectionAudience(_ connection: Connection) -> String? {
    guard connection.authType == .jwtBearer else { return nil }
    if let audience = connection.audience { return audience }
    let host: SalesforceLoginHost = connection.loginKind == .customDomain ? .customDomain(connection.loginValue) : .loginURL(connection.loginValue)
    let loginURL = (try? host.validatedURL(policy: .salesforceAndLoopback)) ?? connection.loginValue
    return JWTBearerAssertion.defaultAudience(loginURL: loginURL)
}

func mappingsJSON(_ mappings: [MappingSetting]) -> JSON {
    .array(mappings.map { ["source": .string($0.source), "target": .string($0.target)] })
}

func segmentsJSON(_ segments: [SegmentSetting]) -> JSON {
    .array(segments.map {
        ["segmentId": .string($0.segmentId), "mappingId": .string($0.mappingId), "startDate": .string($0.startDate), "endDate": .string($0.endDate)]
    })
}

/// What a destination is doing right now, next to its settings.
struct DestinationActivity: Sendable {
    var backlog: Backlog
    var delivery: DeliveryStatus
    var backfillRunning: Bool
    var bulkJobs: [BulkJobSummary] = []
    /// The data usage policies its mappings break under the labels now (why it is `paused_policy`;
    /// on a draft, what enabling it would refuse).
    var violations: [PolicyViolation] = []
    /// The connection's requests in flight in this process (nil where it does not deliver).
    var concurrency: (limit: Int, inFlight: Int)?

    static func of(_ destination: Destination, services: SfdestServices) async throws -> DestinationActivity {
        // From the store: the process running it may be another one.
        let backfilling = try await services.store.runningBackfills()[destination.id] != nil
        let backlog = try await services.store.backlog(destinationId: destination.id)
        return DestinationActivity(
            backlog: backlog,
            delivery: await services.delivery.status(of: destination.id, inFlight: backlog.inFlight),
            backfillRunning: destination.status.isActivated && backfilling,
            bulkJobs: try await services.store.recentBulkJobs(destinationId: destination.id, limit: bulkJobsShown),
            violations: try await PolicyCheck.violations(destination, store: services.store),
            concurrency: await services.delivery.concurrency(ofConnection: destination.connectionId)
        )
    }
}

func destinationJSON(_ destination: Destination, activity: DestinationActivity) -> JSON {
    var delivery: [(String, JSON)] = [("status", .string(activity.delivery.name))]
    if let reason = activity.delivery.reason { delivery.append(("reason", .string(reason))) }
    if let concurrency = activity.concurrency {
        delivery.append(("concurrency", ["limit": .int(concurrency.limit), "inFlight": .int(concurrency.inFlight)]))
    }
    let activityFields: [(String, JSON)] = [
        ("createdAt", .date(destination.createdAt)),
        ("updatedAt", .date(destination.updatedAt)),
        ("backlog", [
            "pending": .int(activity.backlog.pending), "inFlight": .int(activity.backlog.inFlight),
            "retrying": .int(activity.backlog.retrying), "failed": .int(activity.backlog.failed),
        ]),
        ("delivery", .object(delivery)),
        ("deliveryError", .string(destination.deliveryError)),
        ("lastDeliveryAt", .date(destination.lastDeliveryAt)),
        ("backfill", .bool(activity.backfillRunning)),
        ("bulkJobs", bulkJobsJSON(activity.bulkJobs)),
        ("policyViolations", .array(PolicyCheck.details(activity.violations, destination: destination))),
    ]
    return .object(destinationSettingsFields(destination) + activityFields)
}

/// A destination's settings (what a person configures), the first fields of its view and the
/// whole of its audit entry.
func destinationSettingsFields(_ destination: Destination) -> [(String, JSON)] {
    [
        ("id", .string(destination.id)),
        ("name", .string(destination.name)),
        ("description", .string(destination.description)),
        ("connectionId", .string(destination.connectionId)),
        ("objectType", .string(destination.objectType.rawValue)),
        ("operation", .string(destination.operation.rawValue)),
        ("convertedLeads", .string(destination.convertedLeads.rawValue)),
        ("status", .string(destination.status.rawValue)),
        ("mappings", mappingsJSON(destination.mappings)),
        ("segments", segmentsJSON(destination.segments)),
        ("bulkThreshold", destination.bulkThreshold.map { JSON.int($0) } ?? JSON.null),
        ("marketingActions", .array(destination.marketingActions.map { .string($0.rawValue) })),
        ("consentPath", .string(destination.consentPath)),
    ]
}

/// A destination with its activity, as one JSON object.
func destinationJSON(_ destination: Destination, services: SfdestServices) async throws -> JSON {
    destinationJSON(destination, activity: try await DestinationActivity.of(destination, services: services))
}

func fieldValueJSON(_ value: Activation.FieldValue) -> JSON {
    switch value {
    case .string(let text): return .string(text)
    case .integer(let number): return .int(Int(number))
    case .double(let number): return .double(number)
    case .bool(let flag): return .bool(flag)
    case .null: return .null
    }
}

func fieldsJSON(_ fields: [String: Activation.FieldValue]) -> JSON {
    .object(fields.keys.sorted().map { ($0, fieldValueJSON(fields[$0] ?? .null)) })
}

