import Hummingbird
import Store

/// What a route needs from the request's API key.
enum RouteAccess: Sendable, Equatable {
    /// No key (`/health`; `/metrics` with `SFDEST_METRICS_PUBLIC=1`).
    case open
    /// A valid key with every one of these permissions (`admin` has them all).
    case requires([Permission])
}

/// The one place that says which permission each route needs: the contract's table, keyed by
/// method and Hummingbird's route path (`GET /v1/destinations/{id}`). `APIKeyMiddleware` refuses
/// a route with no entry, and a test checks that every registered route has one.
enum RoutePermissions {
    static func table(metricsPublic: Bool) -> [String: RouteAccess] {
        var table: [String: RouteAccess] = [:]
        func add(_ access: RouteAccess, _ routes: String...) {
            for route in routes { table[route] = access }
        }
        add(.open, "GET /health")
        add(metricsPublic ? .open : .requires([.viewMetrics]), "GET /metrics")
        add(
            .requires([.viewDestinations]),
            "GET /v1/connections", "GET /v1/connections/{id}",
            "GET /v1/destinations", "GET /v1/destinations/{id}", "GET /v1/destinations/{id}/runs",
            "GET /v1/destinations/{id}/failures", "GET /v1/destinations/{id}/alerts",
            "GET /v1/alerts", "GET /v1/alerts/subscriptions",
            "GET /v1/destinations/{id}/fields", "POST /v1/destinations/{id}/preflight", "GET /v1/labels"
        )
        // Labels are governance: taking one off lets data out, so only an admin key changes them.
        add(.requires([.admin]), "PUT /v1/labels")
        add(
            .requires([.manageDestinations]),
            "POST /v1/connections", "PUT /v1/connections/{id}", "DELETE /v1/connections/{id}",
            "POST /v1/destinations", "DELETE /v1/destinations/{id}", "PUT /v1/destinations/{id}/alerts",
            "POST /v1/alerts/subscriptions", "DELETE /v1/alerts/subscriptions/{id}"
        )
        add(
            .requires([.activateDestinations]),
            "PUT /v1/destinations/{id}/mappings", "PUT /v1/destinations/{id}/segments",
            "POST /v1/destinations/{id}/enable", "POST /v1/destinations/{id}/disable",
            "POST /v1/destinations/{id}/failures/retry"
        )
        add(.requires([.viewSegments]), "GET /v1/destinations/{id}/segments", "GET /v1/audiences")
        add(.requires([.viewProfiles]), "GET /v1/destinations/{id}/records/{recordId}", "GET /v1/profiles/{namespace}/{id}", "GET /v1/profiles/sources")
        add(.requires([.viewProfiles, .manageDestinations]), "DELETE /v1/profiles/{namespace}/{id}")
        add(.requires([.ingestProfiles]), "POST /v1/profiles")
        add(.requires([.manageKeys]), "POST /v1/keys", "GET /v1/keys", "DELETE /v1/keys/{id}", "GET /v1/audit")
        return table
    }

    /// The table's key for a request's method and matched route path.
    static func key(method: HTTPRequest.Method, path: String) -> String {
        "\(method.rawValue) \(path)"
    }
}
