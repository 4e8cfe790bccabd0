import Hummingbird
import NIOCore
import SfdestJSON

/// The read-only REST resources: version root, limits, sObject listings, describe and records.
extension RESTService {
    static func versionResources(_ major: Int) -> JSON {
        let base = "/services/data/v\(major).0"
        return .object([
            ("limits", .string("\(base)/limits")),
            ("sobjects", .string("\(base)/sobjects")),
            ("composite", .string("\(base)/composite")),
            ("query", .string("\(base)/query")),
        ])
    }

    /// Bulk batches allowed and left in the rolling 24 hours.
    func bulkAllowance() -> (max: Int, remaining: Int) {
        let limit = self.org.access.withLock { $0.faults.bulkDailyBatchLimit }
        let used = self.org.bulk.withLock { $0.used(now: ContinuousClock.now).batches }
        return (limit, Swift.max(0, limit - used))
    }

    /// `GET /limits/`: the daily allowance as it stands after this call, plus a few others.
    static func limits(_ usage: APIUsage, bulk: (max: Int, remaining: Int) = (15_000, 15_000)) -> JSON {
        func limit(_ max: Int, _ remaining: Int) -> JSON {
            .object([("Max", .int(max)), ("Remaining", .int(remaining))])
        }
        return .object([
            ("ConcurrentAsyncGetReportInstances", limit(200, 200)),
            ("DailyApiRequests", limit(usage.max, Swift.max(0, usage.max - usage.used))),
            ("DailyAsyncApexExecutions", limit(250_000, 250_000)),
            ("DailyBulkApiBatches", limit(bulk.max, bulk.remaining)),
            ("DailyBulkV2QueryJobs", limit(10_000, 10_000)),
            ("DataStorageMB", limit(5, 5)),
            ("FileStorageMB", limit(20, 20)),
        ])
    }

    func globalDescribe(_ major: Int) -> JSON {
        let schemas = self.org.store.withLock { $0.schemas.values.sorted { $0.name < $1.name } }
        return .object([
            ("encoding", .string("UTF-8")),
            ("maxBatchSize", .int(200)),
            ("sobjects", .array(schemas.map { Self.objectSummary($0, major: major) })),
        ])
    }

    func objectInfo(_ name: String, major: Int) throws(RESTFailure) -> JSON {
        let schema = try self.schema(name)
        return .object([("objectDescribe", Self.objectSummary(schema, major: major)), ("recentItems", .array([]))])
    }

    func describe(_ name: String) throws(RESTFailure) -> JSON {
        try self.schema(name).describeJSON
    }

    /// `GET /sobjects/{Type}/{id}`, optionally limited to `?fields=A,B`.
    func readRecord(_ name: String, id rawId: String, fields: String?, major: Int) throws(RESTFailure) -> JSON {
        let schema = try self.schema(name)
        guard let id = RecordID.normalized(rawId) else {
            throw RESTFailure(
                status: .notFound, errorCode: "NOT_FOUND",
                message: "Provided external ID field does not exist or is not accessible: \(rawId)"
            )
        }
        guard RecordID.keyPrefix(of: id) == schema.keyPrefix else {
            throw RESTFailure(
                status: .badRequest, errorCode: "MALFORMED_ID",
                message: "\(schema.name) ID: id value of incorrect type: \(rawId)"
            )
        }
        var selection: [FieldDefinition]?
        if let fields {
            selection = try fields.split(separator: ",").map { name throws(RESTFailure) in
                let trimmed = String(name).trimmingCharacters(in: .whitespaces)
                guard let field = schema.field(named: trimmed) else {
                    throw RESTFailure(
                        status: .badRequest, errorCode: "INVALID_FIELD",
                        message: "No such column '\(trimmed)' on entity '\(schema.name)'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name."
                    )
                }
                return field
            }
        }
        guard let record = self.org.store.withLock({ $0.record(id: id) }) else {
            throw RESTFailure.notFound
        }
        if record.isDeleted {
            throw RESTFailure(status: .notFound, errorCode: "ENTITY_IS_DELETED", message: "entity is deleted")
        }
        return record.json(schema: schema, only: selection, url: "/services/data/v\(major).0/sobjects/\(schema.name)/\(id)")
    }

    func schema(_ name: String) throws(RESTFailure) -> SObjectSchema {
        guard let schema = self.org.store.withLock({ $0.schema(named: name) }) else {
            throw RESTFailure(
                status: .notFound, errorCode: "NOT_FOUND", message: "The requested resource does not exist"
            )
        }
        return schema
    }

    /// The field an upsert matches on: it must be an external Id (or the record Id).
    static func externalIdField(_ name: String, of schema: SObjectSchema) throws(RESTFailure) -> FieldDefinition {
        guard let field = schema.field(named: name) else {
            throw RESTFailure.invalidField(name, on: schema.name)
        }
        guard field.externalId || field.type == .id else {
            throw RESTFailure(
                status: .badRequest, errorCode: "INVALID_FIELD",
                message: "Field \(field.name) is not an External ID or indexed field for \(schema.name)"
            )
        }
        return field
    }

    private static func objectSummary(_ schema: SObjectSchema, major: Int) -> JSON {
        let base = "/services/data/v\(major).0/sobjects/\(schema.name)"
        return .object([
            ("name", .string(schema.name)),
            ("label", .string(schema.label)),
            ("labelPlural", .string(schema.labelPlural)),
            ("keyPrefix", .string(schema.keyPrefix)),
            ("custom", .bool(false)),
            ("createable", .bool(true)),
            ("updateable", .bool(true)),
            ("queryable", .bool(true)),
            ("urls", .object([
                ("sobject", .string(base)),
                ("describe", .string("\(base)/describe")),
                ("rowTemplate", .string("\(base)/{ID}")),
            ])),
        ])
    }
}
