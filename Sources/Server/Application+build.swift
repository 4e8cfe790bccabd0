import Hummingbird
import Logging
import SfdestJSON

/// The sfdest HTTP API: `/health` without a key, everything under `/v1` with one. The caller runs
/// the returned application next to `services.ingest` and `services.delivery` in one service group.
public func buildApplication(settings: ServerSettings, services: SfdestServices, logger: Logger) -> some ApplicationProtocol {
    let api = buildRouter(settings: settings, services: services, logger: logger).buildResponder()
    let ui = WebUI(settings: settings, services: services, api: api, logger: RequestIDLogHandler.wrapping(logger)).buildRouter().buildResponder()
    // A worker's port answers its probes only; the UI's pages then find no API behind them.
    let split = UISplitResponder(api: api, ui: ui, uiServed: !settings.probesOnly)
    return Application(
        responder: LimitsResponder(base: split, limits: settings.limits),
        server: .sfdest(limits: settings.limits, tls: settings.tls),
        configuration: ApplicationConfiguration(address: .hostname(settings.host, port: settings.port), serverName: "sfdest"),
        onServerRunning: { channel in await settings.onListening(channel.localAddress?.port ?? settings.port) },
        logger: logger
    )
}

/// The routes, in front of which errors become the contract's JSON. Every route is registered on
/// one group whose `APIKeyMiddleware` authenticates the key and checks the route's permission
/// (`RoutePermissions`); a route missing from that table is refused.
func buildRouter(settings: ServerSettings, services: SfdestServices, logger: Logger) -> Router<SfdestRequestContext> {
    // Every line logged while a request is handled carries its request id (also in X-Request-Id).
    let logger = RequestIDLogHandler.wrapping(logger)
    let router = Router(context: SfdestRequestContext.self)
    router.add(middleware: ErrorMiddleware())
    router.add(middleware: RequestIDMiddleware())
    if settings.probesOnly { router.add(middleware: ProbesOnlyMiddleware()) }
    let routes = router.group().add(middleware: APIKeyMiddleware(settings: settings, store: services.store))
    routes.get("health") { _, _ in
        JSON(dictionaryLiteral: ("status", "ok")).response()
    }
    MetricsRoute(services: services).register(on: routes)
    guard !settings.probesOnly else { return router }
    let v1 = routes.group("v1")
    let destinations = DestinationRoutes(services: services, settings: settings, logger: logger)
    ConnectionRoutes(services: services, settings: settings, logger: logger).register(on: v1)
    destinations.register(on: v1)
    ActivationSettingsRoutes(destinations: destinations).register(on: v1)
    MonitoringRoutes(destinations: destinations).register(on: v1)
    AlertRoutes(destinations: destinations).register(on: v1)
    ProfileRoutes(services: services, settings: settings, logger: logger).register(on: v1)
    KeyRoutes(services: services, settings: settings, logger: logger).register(on: v1)
    SetupRoutes(destinations: destinations).register(on: v1)
    GovernanceRoutes(destinations: destinations).register(on: v1)
    ProfileLookupRoutes(services: services, logger: logger).register(on: v1)
    return router
}

/// A worker's port: `/health` and `/metrics`, and for anything else a 404 that says where the API is.
struct ProbesOnlyMiddleware: RouterMiddleware {
    typealias Context = SfdestRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path == "/health" || request.uri.path == "/metrics" else {
            throw APIError(
                status: .notFound, code: "not_found",
                message: "this sfdest process is a worker (--role worker): its port serves /health and /metrics only; send API requests to a process with --role api or all"
            )
        }
        return try await next(request, context)
    }
}

/// `/` and `/ui/...` go to the web UI; everything else to the API.
struct UISplitResponder<API: HTTPResponder, UI: HTTPResponder>: HTTPResponder where API.Context == SfdestRequestContext, UI.Context == SfdestRequestContext {
    typealias Context = SfdestRequestContext
    let api: API
    let ui: UI
    var uiServed = true

    func respond(to request: Request, context: Context) async throws -> Response {
        let path = request.uri.path
        if self.uiServed, path == "/" || path == "/ui" || path.hasPrefix("/ui/") {
            return try await self.ui.respond(to: request, context: context)
        }
        return try await self.api.respond(to: request, context: context)
    }
}
