import Hummingbird
import SfdestJSON

/// A whole REST request refused, answered as Salesforce's top-level error array
/// `[{"message": ..., "errorCode": ...}]`.
struct RESTFailure: Error, Sendable {
    let status: HTTPResponse.Status
    let errorCode: String
    let message: String

    static func invalidField(_ name: String, on object: String) -> RESTFailure {
        RESTFailure(
            status: .badRequest, errorCode: "INVALID_FIELD",
            message: "No such column '\(name)' on sobject of type \(object)"
        )
    }

    static func jsonParser(_ message: String) -> RESTFailure {
        RESTFailure(status: .badRequest, errorCode: "JSON_PARSER_ERROR", message: message)
    }

    static let notFound = RESTFailure(
        status: .notFound, errorCode: "NOT_FOUND", message: "The requested resource does not exist"
    )

    static let invalidSession = RESTFailure(
        status: .unauthorized, errorCode: "INVALID_SESSION_ID", message: "Session expired or invalid"
    )

    static let requestLimitExceeded = RESTFailure(
        status: .forbidden, errorCode: "REQUEST_LIMIT_EXCEEDED", message: "TotalRequests Limit exceeded."
    )

    static let serverUnavailable = RESTFailure(
        status: .serviceUnavailable, errorCode: "SERVER_UNAVAILABLE",
        message: "Server temporarily unavailable, please try again later"
    )

    var json: JSON {
        .array([.object([("message", .string(self.message)), ("errorCode", .string(self.errorCode))])])
    }
}

/// Why one record of a collection request was not written: an item of its `errors` array.
struct RecordFailure: Sendable, Equatable {
    let statusCode: String
    let message: String
    let fields: [String]

    /// The `lockRowRate` fault's status code.
    static let unableToLockRow = "UNABLE_TO_LOCK_ROW"

    static let rolledBack = RecordFailure(
        statusCode: "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        message: "Record rolled back because not all records were valid and the request was using AllOrNone header",
        fields: []
    )

    var json: JSON {
        .object([
            ("statusCode", .string(self.statusCode)),
            ("message", .string(self.message)),
            ("fields", .array(self.fields.map(JSON.string))),
        ])
    }
}

/// One entry of a collection answer, in request order.
struct CollectionItemResult: Sendable {
    var id: String?
    var failure: RecordFailure?
    /// Set for create and upsert answers.
    var created: Bool?

    var json: JSON {
        var pairs: [(String, JSON)] = []
        if let id = self.id {
            pairs.append(("id", .string(id)))
        }
        pairs.append(("success", .bool(self.failure == nil)))
        pairs.append(("errors", .array(self.failure.map { [$0.json] } ?? [])))
        if let created = self.created, self.failure == nil {
            pairs.append(("created", .bool(created)))
        }
        return .object(pairs)
    }
}
