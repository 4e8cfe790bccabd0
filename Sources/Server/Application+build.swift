import Hummingbird
import Logging
import SfdestJSON

/// The sfdest HTTP API: `/health` without a key, everything under `/v1` with one. The caller runs
/// the returned application next to `services.ingest` and `services.delivery` in one service group.
public func buildApplication(settings: ServerSettings, services: SfdestServices, logger: Logger) -> some ApplicationProtocol {
    let router = buildRouter(settings: settings, services: services, logger: logger)
    return Application(
        responder: LimitsResponder(base: router.buildResponder(), limits: settings.limits),
        server: .sfdest(limits: settings.limits, tls: settings.tls),
        configuration: ApplicationConfiguration(address: .hostname(settings.host, port: settings.port), serverName: "sfdest"),
        onServerRunning: { channel in await settings.onListening(channel.localAddress?.port ?? settings.port) },
        logger: logger
    )
}

/// The routes, in front of which errors become the contract's JSON and `/v1` needs an API key.
func buildRouter(settings: ServerSettings, services: SfdestServices, logger: Logger) -> Router<BasicRequestContext> {
    // Every line logged while a request is handled carries its request id (also in X-Request-Id).
    let logger = RequestIDLogHandler.wrapping(logger)
    let router = Router()
    router.add(middleware: ErrorMiddleware())
    router.add(middleware: RequestIDMiddleware())
    router.get("health") { _, _ in
        JSON(dictionaryLiteral: ("status", "ok")).response()
    }
    MetricsRoute(services: services).register(on: router)
    let v1 = router.group("v1").add(middleware: APIKeyMiddleware(keys: settings.apiKeys))
    let destinations = DestinationRoutes(services: services, settings: settings, logger: logger)
    ConnectionRoutes(services: services, settings: settings, logger: logger).register(on: v1)
    destinations.register(on: v1)
    ActivationSettingsRoutes(destinations: destinations).register(on: v1)
    MonitoringRoutes(destinations: destinations).register(on: v1)
    AlertRoutes(destinations: destinations).register(on: v1)
    ProfileRoutes(services: services, settings: settings, logger: logger).register(on: v1)
    return router
}
