import CoreMetrics
import Prometheus

/// The metrics of one service: a Prometheus registry behind a swift-metrics factory. Each runtime
/// owns one and hands its `factory` to whoever reports (no global bootstrap, so many runtimes can
/// live in one test process), and `/metrics` renders it.
public final class SfdestMetrics: Sendable {
    /// Metric names reported outside delivery.
    public enum Name {
        public static let profilesIngested = "sfdest_profiles_ingested_total"
        public static let backlog = "sfdest_backlog_records"
        public static let profilesStored = "sfdest_profiles_stored"
    }

    /// `# HELP` text per metric name (swift-metrics has no help text of its own).
    public static let help: [String: String] = [
        Name.profilesIngested: "Profiles accepted and durably stored by POST /v1/profiles.",
        Name.backlog: "Records of a destination by queue state (pending, inFlight, retrying, failed).",
        Name.profilesStored: "Profiles held in the store.",
        "sfdest_delivery_outcomes_total": "Per-record delivery results by destination, outcome and Salesforce code.",
        "sfdest_delivery_latency_seconds": "Seconds from a change's acceptance to Salesforce's acknowledgement.",
        "sfdest_salesforce_api_calls_total": "Salesforce API calls made per connection.",
        "sfdest_salesforce_api_usage": "The org's daily API usage (used, max) as last reported by Sforce-Limit-Info.",
    ]

    /// Buckets of the delivery latency histogram: acknowledgements take milliseconds to hours.
    public static let latencyBuckets: [Duration] = [
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
        .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300), .seconds(900), .seconds(3600),
    ]

    public let registry: PrometheusCollectorRegistry
    public let factory: any MetricsFactory

    public init() {
        self.registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: self.registry)
        factory.durationHistogramBuckets["sfdest_delivery_latency_seconds"] = Self.latencyBuckets
        self.factory = factory
    }

    /// Profiles durably accepted.
    public func profilesIngested(_ count: Int) {
        guard count > 0 else { return }
        Counter(label: Name.profilesIngested, factory: self.factory).increment(by: count)
    }

    /// A destination's queue right now.
    public func backlog(destinationId: String, pending: Int, inFlight: Int, retrying: Int, failed: Int) {
        for (state, value) in [("pending", pending), ("inFlight", inFlight), ("retrying", retrying), ("failed", failed)] {
            Gauge(label: Name.backlog, dimensions: [("destination", destinationId), ("state", state)], factory: self.factory).record(value)
        }
    }

    /// Profiles held in the store right now.
    public func profilesStored(_ count: Int) {
        Gauge(label: Name.profilesStored, factory: self.factory).record(count)
    }

    /// The Prometheus text exposition of everything reported, with `# HELP` lines.
    public func render() -> String {
        var lines: [String] = []
        for line in self.registry.emitToString().split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# TYPE ") {
                let name = line.dropFirst("# TYPE ".count).split(separator: " ").first.map(String.init) ?? ""
                if let help = Self.help[name] { lines.append("# HELP \(name) \(help)") }
            }
            lines.append(String(line))
        }
        return lines.joined(separator: "\n")
    }
}
