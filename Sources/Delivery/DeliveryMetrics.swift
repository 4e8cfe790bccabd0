import CoreMetrics
import Foundation
import SalesforceAPI
import Store

/// What delivery reports through swift-metrics: outcomes by code, the latency from acceptance to
/// Salesforce's acknowledgement, API calls and API usage per connection. The factory is passed in
/// (never the global `MetricsSystem`), so each runtime of a test process has its own registry.
public struct DeliveryMetrics: Sendable {
    /// Metric names, as they appear on `/metrics`.
    public enum Name {
        public static let outcomes = "sfdest_delivery_outcomes_total"
        public static let latency = "sfdest_delivery_latency_seconds"
        public static let concurrency = "sfdest_delivery_concurrency_limit"
        public static let apiCalls = "sfdest_salesforce_api_calls_total"
        public static let apiUsage = "sfdest_salesforce_api_usage"
        public static let fenced = "sfdest_delivery_answers_fenced_total"
    }

    let factory: any MetricsFactory

    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.factory = factory
    }

    /// Counts each record's result (`outcome`: acknowledged, retry, postponed, failed) by code, and
    /// times the acknowledged ones from when their change was accepted.
    func record(_ results: [String: DeliveryResult], claimed: [ClaimedRecord], destinationId: String, now: Date = Date()) {
        let acceptedAt = Dictionary(claimed.map { ($0.recordId, $0.acceptedAt) }, uniquingKeysWith: { first, _ in first })
        for (recordId, result) in results {
            let (outcome, code) = Self.labels(of: result)
            Counter(label: Name.outcomes, dimensions: [("destination", destinationId), ("outcome", outcome), ("code", code)], factory: self.factory)
                .increment()
            if result.isAcknowledgement, let accepted = acceptedAt[recordId] {
                let seconds = max(0, now.timeIntervalSince(accepted))
                Timer(label: Name.latency, dimensions: [("destination", destinationId)], factory: self.factory)
                    .recordNanoseconds(Int64(seconds * 1e9))
            }
        }
    }

    /// The connection's limit of requests in flight (`AdaptiveConcurrency`).
    func concurrency(connectionId: String, limit: Int) {
        Gauge(label: Name.concurrency, dimensions: [("connection", connectionId)], factory: self.factory).record(limit)
    }

    /// Answers refused because another claim had taken their records over (a lease that ran out).
    func fenced(_ count: Int, destinationId: String) {
        Counter(label: Name.fenced, dimensions: [("destination", destinationId)], factory: self.factory).increment(by: count)
    }

    /// One Salesforce API call on a connection, and the usage it reported.
    func apiCall(connectionId: String, usage: APIUsage?) {
        Counter(label: Name.apiCalls, dimensions: [("connection", connectionId)], factory: self.factory).increment()
        guard let usage else { return }
        Gauge(label: Name.apiUsage, dimensions: [("connection", connectionId), ("kind", "used")], factory: self.factory)
            .record(usage.used)
        Gauge(label: Name.apiUsage, dimensions: [("connection", connectionId), ("kind", "max")], factory: self.factory)
            .record(usage.max)
    }

    static func labels(of result: DeliveryResult) -> (outcome: String, code: String) {
        switch result {
        case .acknowledged, .acknowledgedAt: return ("acknowledged", "OK")
        case .retry(let code, _, _, _): return ("retry", code)
        case .postpone: return ("postponed", "POSTPONED")
        case .failed(let code, _, _): return ("failed", code)
        }
    }
}
