import Foundation
import Store

/// What the rules read about one destination at one moment.
public struct DestinationSnapshot: Sendable {
    /// The latest hourly run window, if any.
    public var latestRun: DataflowRun?
    /// What delivery is doing, with its reason.
    public var delivery: DeliveryState
    /// The error that stopped the destination until a person fixes it, if any.
    public var deliveryError: String?
    /// Records failed with `RETRY_EXHAUSTED` and not replayed or delivered since (whenever they failed).
    public var retryExhausted: Int
    /// When the oldest change still waiting was queued.
    public var oldestPending: Date?
    public var now: Date
    /// Why a data usage policy paused the destination (`paused_policy`), if one did.
    public var policyPause: String?

    public init(
        latestRun: DataflowRun?, delivery: DeliveryState, deliveryError: String?,
        retryExhausted: Int, oldestPending: Date?, now: Date, policyPause: String? = nil
    ) {
        self.policyPause = policyPause
        self.latestRun = latestRun
        self.delivery = delivery
        self.deliveryError = deliveryError
        self.retryExhausted = retryExhausted
        self.oldestPending = oldestPending
        self.now = now
    }
}

/// Why a rule holds: the alert's message and details.
public struct AlertFinding: Sendable, Hashable {
    public var message: String
    public var details: [String: AlertDetail]
}

/// The rules, as pure functions of a snapshot and the destination's settings.
public enum AlertRules {
    /// The rules that hold now, each with why.
    public static func evaluate(_ snapshot: DestinationSnapshot, settings: AlertSettings) -> [AlertRule: AlertFinding] {
        var findings: [AlertRule: AlertFinding] = [:]
        findings[.activationSkipRateExceeded] = self.skipRate(snapshot, settings)
        findings[.flowRunFailure] = self.failure(snapshot)
        findings[.flowRunDelay] = self.delay(snapshot, settings)
        if settings.runStart, let run = snapshot.latestRun, run.unresolved > 0 {
            findings[.flowRunStart] = AlertFinding(
                message: "a run is processing: \(run.unresolved) of \(run.received) received profiles are not resolved yet",
                details: self.runDetails(run)
            )
        }
        if settings.runSuccess, let run = snapshot.latestRun, run.received > 0, run.unresolved == 0, run.failed == 0 {
            findings[.flowRunSuccess] = AlertFinding(
                message: "the run completed: \(run.activated) activated, \(run.unchanged) unchanged, \(run.excluded) excluded, none failed",
                details: self.runDetails(run)
            )
        }
        return findings
    }

    static func skipRate(_ snapshot: DestinationSnapshot, _ settings: AlertSettings) -> AlertFinding? {
        guard let run = snapshot.latestRun, run.received > 0, run.received >= settings.skipRateMinimumReceived else { return nil }
        let rate = Double(run.excluded) / Double(run.received)
        guard rate > settings.skipRateThreshold else { return nil }
        var details = self.runDetails(run)
        details["skipRate"] = .number(rate)
        details["threshold"] = .number(settings.skipRateThreshold)
        return AlertFinding(
            message: "\(run.excluded) of \(run.received) profiles received in the run were excluded (\(self.percent(rate))), above the threshold of \(self.percent(settings.skipRateThreshold)): see GET /v1/destinations/{id}/failures",
            details: details
        )
    }

    static func failure(_ snapshot: DestinationSnapshot) -> AlertFinding? {
        var details: [String: AlertDetail] = ["deliveryStatus": .text(snapshot.delivery.kind.rawValue)]
        var reasons: [String] = []
        if let policyPause = snapshot.policyPause {
            reasons.append("paused by a data usage policy: \(policyPause)")
            details["policy"] = .text(policyPause)
        }
        if snapshot.delivery.needsAPerson {
            reasons.append("delivery is \(snapshot.delivery.kind.rawValue): \(snapshot.delivery.reason ?? "no reason given")")
            details["reason"] = .text(snapshot.delivery.reason ?? "")
        } else if let error = snapshot.deliveryError {
            reasons.append("delivery stopped: \(error)")
            details["reason"] = .text(error)
        }
        if snapshot.retryExhausted > 0 {
            reasons.append("\(snapshot.retryExhausted) record(s) failed with RETRY_EXHAUSTED: replay them with POST /v1/destinations/{id}/failures/retry once the cause is fixed")
            details["retryExhausted"] = .number(Double(snapshot.retryExhausted))
        }
        guard !reasons.isEmpty else { return nil }
        return AlertFinding(message: reasons.joined(separator: "; "), details: details)
    }

    static func delay(_ snapshot: DestinationSnapshot, _ settings: AlertSettings) -> AlertFinding? {
        guard let oldest = snapshot.oldestPending else { return nil }
        let waited = snapshot.now.timeIntervalSince(oldest)
        guard waited > Double(settings.delayThresholdSeconds) else { return nil }
        return AlertFinding(
            message: "the oldest pending change has waited \(Int(waited)) s, longer than the threshold of \(settings.delayThresholdSeconds) s (delivery is \(snapshot.delivery.kind.rawValue)\(snapshot.delivery.reason.map { ": \($0)" } ?? ""))",
            details: [
                "oldestPendingAt": .text(oldest.formatted(.iso8601)), "waitedSeconds": .number(waited.rounded()),
                "thresholdSeconds": .number(Double(settings.delayThresholdSeconds)), "deliveryStatus": .text(snapshot.delivery.kind.rawValue),
            ]
        )
    }

    private static func runDetails(_ run: DataflowRun) -> [String: AlertDetail] {
        [
            "runStart": .text(run.start.formatted(.iso8601)), "received": .number(Double(run.received)),
            "activated": .number(Double(run.activated)), "unchanged": .number(Double(run.unchanged)),
            "excluded": .number(Double(run.excluded)), "failed": .number(Double(run.failed)),
        ]
    }

    private static func percent(_ rate: Double) -> String {
        "\((rate * 10_000).rounded() / 100)%"
    }
}
