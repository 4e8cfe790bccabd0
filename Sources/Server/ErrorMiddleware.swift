import Hummingbird
import Logging
import NIOCore
import Store

/// Turns every error into the contract's JSON error, logs refused requests with their request id,
/// and tags every response with `X-Request-Id` so a client can quote it.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    static var requestIdHeader: HTTPFields.Element.Name { HTTPFields.Element.Name("X-Request-Id")! }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            let apiError = Self.apiError(for: error, request: request)
            // Once per request: unexpected errors with their cause; refusals at their level.
            if !(error is APIError) && !(error is StoreUnavailable) {
                context.logger.error("request failed", metadata: self.metadata(request, apiError, cause: error))
            } else if apiError.status.code >= 500 {
                context.logger.warning("request not served", metadata: self.metadata(request, apiError, cause: nil))
            } else {
                context.logger.info("request refused", metadata: self.metadata(request, apiError, cause: nil))
            }
            response = apiError.body.response(apiError.status, headers: apiError.headers)
        }
        if let id = context.logger[metadataKey: "hb.request.id"] {
            response.headers[Self.requestIdHeader] = id.description
        }
        return response
    }

    private func metadata(_ request: Request, _ error: APIError, cause: (any Error)?) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "http.method": "\(request.method)", "http.path": "\(request.uri.path)",
            "http.status": "\(error.status.code)", "error.code": "\(error.code)", "error.message": "\(error.message)",
        ]
        if let cause { metadata["error.cause"] = "\(String(reflecting: type(of: cause))): \(cause)" }
        return metadata
    }

    /// The contract's error for anything a handler or the router threw.
    static func apiError(for error: any Error, request: Request) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as StoreUnavailable:
            // Storage trouble a client can wait out (disk full, database busy): not a 500.
            return APIError.unavailable("the service cannot store this now: \(error.description)", retryAfterSeconds: 5)
        case is NIOTooManyBytesError:
            return APIError(status: .contentTooLarge, code: "payload_too_large", message: "the body is too large: split it into several requests")
        case let error as HTTPError where error.status == .notFound:
            return APIError(
                status: .notFound, code: "not_found",
                message: "no route \(request.method) \(request.uri.path): the API lives under /v1 (see the README for the routes)"
            )
        case let error as HTTPError where error.status.code < 500:
            let code = error.status.reasonPhrase.lowercased().split(whereSeparator: { !$0.isLetter }).joined(separator: "_")
            return APIError(status: error.status, code: code.isEmpty ? "bad_request" : code, message: error.body ?? error.status.reasonPhrase)
        default:
            return APIError(
                status: .internalServerError, code: "internal_error",
                message: "the service failed to answer; it logged the cause with this request's X-Request-Id"
            )
        }
    }
}
