import Hummingbird
import SfdestJSON

/// A refused admin request, answered as `{"error": code, "message": text}`.
struct AdminFailure: Error, Sendable {
    let status: HTTPResponse.Status
    let error: String
    let message: String

    static func badRequest(_ message: String) -> AdminFailure {
        AdminFailure(status: .badRequest, error: "bad_request", message: message)
    }

    static func notFound(_ message: String) -> AdminFailure {
        AdminFailure(status: .notFound, error: "not_found", message: message)
    }

    var json: JSON {
        .object([("error", .string(self.error)), ("message", .string(self.message))])
    }
}
