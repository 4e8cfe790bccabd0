import Foundation
import SfdestBasics

/// A tuning variable that cannot be used, with what it must be.
public struct TuningError: Error, CustomStringConvertible, Equatable {
    public let description: String
}

extension SfdestRuntime.Settings {
    /// The tuning variables `sfdest serve` reads from its environment (each optional):
    /// - `SFDEST_SALESFORCE_TIMEOUT_SECONDS` (default 30): how long one Salesforce call may take.
    ///   A claim lasts at least twice this long, and so do records after an unknown outcome.
    /// - `SFDEST_DELIVERY_LEASE_SECONDS` (default 120): how long a claim on records being sent
    ///   lasts before another sender may take them again (after a crash).
    /// - `SFDEST_DELIVERY_REQUESTS` (default 4, at most 25): sObject Collections requests in flight
    ///   per connection to start with; the limit then adapts to how Salesforce answers, up to
    ///   `SFDEST_DELIVERY_REQUESTS_MAX` (default 25; Salesforce allows 25 long-running requests at
    ///   once in a production org or sandbox, 5 in a developer or trial org: set 5 there; set it
    ///   to `SFDEST_DELIVERY_REQUESTS` for a fixed number).
    /// - `SFDEST_DELIVERY_LINGER_MS` (default 250, at most 10000): how long a change may wait for
    ///   company before a partial batch is sent (a full batch of 200 goes at once).
    /// - `SFDEST_DELIVERY_POLL_MS` (default 250, from 10 to 600000): how often delivery looks for
    ///   due work besides being woken (by ingest in its process, by a PostgreSQL signal from others).
    /// - `SFDEST_DELIVERY_THROTTLE_SECONDS` (default 5, from 1 to 3600): after Salesforce answers
    ///   `REQUEST_LIMIT_EXCEEDED`, how long the connection waits before its next batch tries again
    ///   (that batch is the probe: no extra call).
    /// - `SFDEST_UI_SESSION_IDLE_SECONDS` (default 1800) and `SFDEST_UI_SESSION_HOURS` (default 12):
    ///   when a web UI session ends without a request, and at the latest.
    /// - `SFDEST_ALLOWED_HOSTS` (default empty): extra login hosts (and webhook hosts on private
    ///   networks) allowed beyond Salesforce's domains, comma-separated, `*.suffix` for subdomains.
    ///   Checked here so that `serve` stops with its message; the runtime reads it.
    public mutating func applyTuning() throws(TuningError) {
        do {
            _ = try OutboundHostPolicy(listenHost: self.host, environment: self.environment)
        } catch {
            throw TuningError(description: error.description)
        }
        if let seconds = try self.number("SFDEST_SALESFORCE_TIMEOUT_SECONDS", "a number of seconds, at least 0.1", in: 0.1...86_400) {
            self.salesforceRequestTimeout = .milliseconds(Int64(seconds * 1000))
        }
        if let seconds = try self.number("SFDEST_DELIVERY_LEASE_SECONDS", "a number of seconds, at least 1", in: 1...86_400 * 7) {
            self.delivery.lease = seconds
        }
        if let requests = try self.number("SFDEST_DELIVERY_REQUESTS", "a whole number from 1 to 25", in: 1...25, whole: true) {
            self.delivery.concurrentRequests = Int(requests)
        }
        if let requests = try self.number("SFDEST_DELIVERY_REQUESTS_MAX", "a whole number from 1 to 25", in: 1...25, whole: true) {
            self.delivery.maxConcurrentRequests = Int(requests)
        }
        if let seconds = try self.number("SFDEST_UI_SESSION_IDLE_SECONDS", "a number of seconds from 10 to 86400", in: 10...86_400) {
            self.uiSessionIdle = seconds
        }
        if let hours = try self.number("SFDEST_UI_SESSION_HOURS", "a number of hours from 0.1 to 720", in: 0.1...720) {
            self.uiSessionLifetime = hours * 3600
        }
        if let milliseconds = try self.number("SFDEST_DELIVERY_POLL_MS", "a whole number of milliseconds from 10 to 600000", in: 10...600_000, whole: true) {
            self.delivery.pollInterval = .milliseconds(Int64(milliseconds))
        }
        if let seconds = try self.number("SFDEST_DELIVERY_THROTTLE_SECONDS", "a number of seconds from 1 to 3600", in: 1...3_600) {
            self.delivery.throttlePause = seconds
        }
        if let milliseconds = try self.number("SFDEST_DELIVERY_LINGER_MS", "a whole number of milliseconds from 0 to 10000", in: 0...10_000, whole: true) {
            self.delivery.linger = .milliseconds(Int64(milliseconds))
        }
    }

    private func number(_ name: String, _ expected: String, in range: ClosedRange<Double>, whole: Bool = false) throws(TuningError) -> Double? {
        guard let text = self.environment[name] else { return nil }
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite, range.contains(value),
              !whole || value.rounded() == value
        else {
            throw TuningError(description: "\(name) must be \(expected) (got \"\(text)\")")
        }
        return value
    }
}
