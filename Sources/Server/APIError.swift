import Activation
import Hummingbird
import SfdestJSON

/// A refused request, as the contract writes it:
/// `{"error": {"code": "snake_case", "message": "what is wrong and how to fix it", "details": [...]}}`.
struct APIError: HTTPResponseError, CustomStringConvertible {
    var status: HTTPResponse.Status
    /// The contract's snake_case code (`validation_failed`, `authentication_failed`, ...).
    var code: String
    /// What is wrong and how to fix it, for a person.
    var message: String
    /// One entry per problem, when there are several.
    var details: [JSON] = []
    var headers: HTTPFields = [:]

    var description: String { "\(self.status.code) \(self.code): \(self.message)" }

    var body: JSON {
        ["error": ["code": .string(self.code), "message": .string(self.message), "details": .array(self.details)]]
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        self.body.response(self.status, headers: self.headers)
    }

    /// 422 with every configuration problem in `details` as `{"field", "message"}`.
    static func problems(_ problems: [ConfigurationProblem], code: String, summary: String) -> APIError {
        let message = problems.count == 1
            ? "\(summary): \(problems[0].description)"
            : "\(summary): \(problems.count) problems, each listed in details"
        return APIError(
            status: .unprocessableContent, code: code, message: message,
            details: problems.map { ["field": .string($0.field), "message": .string($0.message)] }
        )
    }

    static func malformedJSON(_ message: String) -> APIError {
        APIError(status: .badRequest, code: "malformed_json", message: message)
    }

    static func payloadTooLarge(limit: Int) -> APIError {
        APIError(
            status: .contentTooLarge, code: "payload_too_large",
            message: "the body is larger than \(limit) bytes: split it into several requests"
        )
    }

    static func destinationNotFound(_ id: String) -> APIError {
        APIError(status: .notFound, code: "destination_not_found", message: "no destination \(id): list them with GET /v1/destinations")
    }

    static func connectionNotFound(_ id: String) -> APIError {
        APIError(status: .notFound, code: "connection_not_found", message: "no connection \(id): list them with GET /v1/connections")
    }

    /// The store or the pipeline cannot take the request now; the client should retry shortly.
    static func unavailable(_ message: String, retryAfterSeconds: Int = 1) -> APIError {
        APIError(status: .serviceUnavailable, code: "unavailable", message: message, headers: [.retryAfter: "\(retryAfterSeconds)"])
    }

    /// A JSON document whose arrays and objects nest past the limit checked before parsing.
    static func nestingTooDeep(_ message: String) -> APIError {
        APIError(status: .badRequest, code: "nesting_too_deep", message: message)
    }
}
