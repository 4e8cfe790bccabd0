import Alerts
import Delivery

/// Hands the alert monitor delivery's state of each destination: the one place that knows both.
struct DeliveryStates: DeliveryStateSource {
    let delivery: DeliveryService

    func deliveryState(of destinationId: String) async -> DeliveryState {
        Self.state(await self.delivery.status(of: destinationId))
    }

    static func state(_ status: DeliveryStatus) -> DeliveryState {
        let kind: DeliveryState.Kind
        switch status {
        case .idle: kind = .idle
        case .delivering: kind = .delivering
        case .backingOff: kind = .backingOff
        case .pausedAPILimit: kind = .pausedAPILimit
        case .pausedAPIBudget: kind = .pausedAPIBudget
        case .authenticationFailed: kind = .authenticationFailed
        case .failed: kind = .failed
        }
        return DeliveryState(kind, reason: status.reason)
    }
}
