import Hummingbird
import Logging

/// The id of the request the current task serves (Hummingbird's `hb.request.id`), if any.
enum CurrentRequest {
    @TaskLocal static var id: String?
}

/// Makes the request id of `context.logger` the current one for everything the request runs, so
/// loggers that are not the request's own (routes, Salesforce clients) tag their lines with it.
struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let id = context.logger[metadataKey: "hb.request.id"] else { return try await next(request, context) }
        return try await CurrentRequest.$id.withValue(id.description) { try await next(request, context) }
    }
}

/// A log handler that adds `hb.request.id` to each line logged while a request is served.
struct RequestIDLogHandler: LogHandler {
    var base: any LogHandler

    /// `logger` with its lines tagged with the current request's id.
    static func wrapping(_ logger: Logger) -> Logger {
        Logger(label: logger.label) { _ in RequestIDLogHandler(base: logger.handler) }
    }

    var metadata: Logger.Metadata {
        get { self.base.metadata }
        set { self.base.metadata = newValue }
    }

    var logLevel: Logger.Level {
        get { self.base.logLevel }
        set { self.base.logLevel = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.base[metadataKey: key] }
        set { self.base[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        guard let id = CurrentRequest.id else { return self.base.log(event: event) }
        var event = event
        var metadata = event.metadata ?? [:]
        if metadata["hb.request.id"] == nil { metadata["hb.request.id"] = .string(id) }
        event.metadata = metadata
        self.base.log(event: event)
    }
}
