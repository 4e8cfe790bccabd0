import Hummingbird
import Store

/// `GET /metrics`: the Prometheus text format, for a key with `view-metrics` (or any caller with
/// `SFDEST_METRICS_PUBLIC=1`; see `RoutePermissions`). Gauges read from the store (backlog per
/// destination, profiles stored) are refreshed on each scrape.
struct MetricsRoute: Sendable {
    let services: SfdestServices

    func register(on router: RouterGroup<SfdestRequestContext>) {
        router.get("metrics") { _, _ in try await self.scrape() }
    }

    func scrape() async throws -> Response {
        let metrics = self.services.metrics
        for destination in try await self.services.store.destinations() {
            let backlog = try await self.services.store.backlog(destinationId: destination.id)
            metrics.backlog(
                destinationId: destination.id, pending: backlog.pending, inFlight: backlog.inFlight,
                retrying: backlog.retrying, failed: backlog.failed
            )
        }
        metrics.profilesStored(try await self.services.store.profileCount())
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: metrics.render())))
    }
}
