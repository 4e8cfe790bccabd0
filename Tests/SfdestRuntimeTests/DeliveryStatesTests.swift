import Alerts
import Delivery
import Testing
@testable import SfdestRuntime

@Suite("Delivery's status as the alert rules read it")
struct DeliveryStatesTests {
    @Test func everyStatusKeepsItsContractWordAndReason() {
        let statuses: [DeliveryStatus] = [
            .idle, .delivering, .backingOff(until: .now, reason: "UNAVAILABLE"), .pausedAPILimit(reason: "limit"),
            .pausedAPIBudget(reason: "budget"), .authenticationFailed(reason: "invalid_grant"), .failed(reason: "INVALID_FIELD"),
        ]
        let states = statuses.map(DeliveryStates.state)
        #expect(states.map(\.kind.rawValue) == statuses.map(\.name))
        #expect(states.map(\.reason) == [nil, nil, "UNAVAILABLE", "limit", "budget", "invalid_grant", "INVALID_FIELD"])
        #expect(Set(states.map(\.kind)) == Set(DeliveryState.Kind.allCases))
        #expect(states.filter(\.needsAPerson).map(\.kind) == [.authenticationFailed, .failed])
    }
}
