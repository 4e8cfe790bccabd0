import AsyncHTTPClient
import Foundation
import Logging
import ServiceLifecycle
import SfdestBasics
import Store

/// Watches every destination: every `evaluationInterval` reads its latest run, its queue and its
/// delivery status, opens an alert when a rule starts to hold (one open alert per rule and
/// destination) and resolves it when the rule no longer holds. Each event is queued durably for
/// the webhook subscriptions in the same transaction, and sent (signed, retried) by the same service.
/// Of several processes sharing one store, one evaluates at a time (the turn `alerts`, renewed at
/// each evaluation and taken over when its holder stops); every one sends due webhooks.
public struct AlertMonitor: Service {
    /// The turn whose holder evaluates the rules.
    public static let turn = "alerts"

    let store: any ConfigurationStore & MonitoringStore & AlertStore & TurnStore
    /// This monitor's token for the turn.
    let holder = Int64.random(in: 1...Int64.max)
    let delivery: any DeliveryStateSource
    let logger: Logger
    let options: AlertOptions
    let sender: WebhookSender

    /// `hostPolicy` decides which webhook addresses events may be sent to (checked again at each send).
    public init(
        store: any ConfigurationStore & MonitoringStore & AlertStore & TurnStore, delivery: any DeliveryStateSource, httpClient: HTTPClient, logger: Logger,
        options: AlertOptions = AlertOptions(), hostPolicy: OutboundHostPolicy
    ) {
        self.store = store
        self.delivery = delivery
        self.logger = logger
        self.options = options
        self.sender = WebhookSender(store: store, httpClient: httpClient, logger: logger, options: options, hostPolicy: hostPolicy)
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    await self.loop(every: self.options.evaluationInterval) {
                        if try await self.hasTurn() { try await self.evaluate() }
                    }
                }
                group.addTask { await self.loop(every: self.options.webhookPollInterval) { try await self.sender.sendDue() } }
            }
        }
    }

    /// Runs `step` until cancelled, pausing `interval` after each; errors are logged, not fatal.
    private func loop(every interval: Duration, _ step: @Sendable () async throws -> Void) async {
        while !Task.isCancelled {
            do {
                try await step()
            } catch {
                // Returning would end the service (and the whole group): only cancellation does.
                if Task.isCancelled { return }
                self.logger.error("alert monitor step failed", metadata: ["error": "\(error)"])
            }
            guard (try? await Task.sleep(for: interval)) != nil else { return }
        }
    }

    /// Whether this process evaluates now: its turn lasts three evaluation intervals (at least
    /// 10 s), so another process takes over within that when this one stops.
    func hasTurn(now: Date = Date()) async throws -> Bool {
        let lease = max(3 * self.options.evaluationInterval.inSeconds, 10)
        return try await self.store.takeTurn(Self.turn, holder: self.holder, lease: lease, now: now)
    }

    /// Evaluates every destination once.
    func evaluate(now: Date = Date()) async throws {
        for destination in try await self.store.destinations() {
            let open = try await self.store.alerts(state: .open, destinationId: destination.id, limit: AlertRule.allCases.count * 2)
            let findings = destination.status.isActivated ? try await self.findings(destination, now: now) : [:]
            for rule in AlertRule.allCases {
                let current = open.first { $0.rule == rule }
                switch (findings[rule], current) {
                case (let finding?, nil):
                    let alert = Alert(
                        id: generateID(prefix: "alert_"), rule: rule, destinationId: destination.id, state: .open,
                        message: finding.message, details: finding.details, openedAt: now
                    )
                    try await self.record(alert, now: now)
                case (nil, var alert?):
                    alert.state = .resolved
                    alert.resolvedAt = now
                    try await self.record(alert, now: now)
                default:
                    break
                }
            }
        }
    }

    private func findings(_ destination: Destination, now: Date) async throws -> [AlertRule: AlertFinding] {
        let settings = try await self.store.alertSettings(destinationId: destination.id)
        let latest = try await self.store.runs(destinationId: destination.id, limit: 1).first
        let delivery = await self.delivery.deliveryState(of: destination.id)
        let snapshot = DestinationSnapshot(
            latestRun: latest, delivery: delivery, deliveryError: destination.deliveryError,
            retryExhausted: try await self.store.failureCount(destinationId: destination.id, code: "RETRY_EXHAUSTED"),
            oldestPending: try await self.store.oldestPendingChange(destinationId: destination.id), now: now,
            policyPause: destination.status == .pausedPolicy
                ? "a label on a source it exports breaks a policy; its changes stay queued until the mapping or the label changes (GET /v1/destinations/\(destination.id) lists the violations)"
                : nil
        )
        return AlertRules.evaluate(snapshot, settings: settings)
    }

    private func record(_ alert: Alert, now: Date) async throws {
        let eventId = generateID(prefix: "evt_")
        guard try await self.store.recordAlertEvent(alert, eventId: eventId, body: AlertEventBody.data(alert), at: now) else { return }
        let metadata: Logger.Metadata = [
            "alert": "\(alert.id)", "rule": "\(alert.rule.rawValue)", "destination": "\(alert.destinationId)", "event": "\(eventId)",
        ]
        if alert.state == .open {
            self.logger.warning("alert opened: \(alert.message)", metadata: metadata)
        } else {
            self.logger.notice("alert resolved", metadata: metadata)
        }
    }
}
