import Foundation
import Testing
@testable import Delivery

/// A generator that answers the same number every time (`UInt64.max` draws the jitter's upper
/// end). Never 0: the standard library rejects some draws and would ask again forever.
struct ConstantRandom: RandomNumberGenerator {
    var value: UInt64
    mutating func next() -> UInt64 { self.value }
}

/// A generator that walks through the whole range of `UInt64` in even steps, so a few draws
/// cover the jitter from end to end.
struct SteppingRandom: RandomNumberGenerator {
    var step: UInt64
    private var current: UInt64 = 0
    init(steps: UInt64) { self.step = UInt64.max / steps }
    mutating func next() -> UInt64 {
        defer { self.current &+= self.step }
        return self.current
    }
}

/// `a` equals `b` up to rounding.
func nearly(_ a: Double, _ b: Double) -> Bool {
    abs(a - b) <= 1e-9 * max(1, abs(b))
}

/// Guarantee 5: exponential backoff, ±20% jitter, a cap.
@Suite("Backoff")
struct BackoffTests {
    @Test func doublesFromTheBaseWithEachAttempt() {
        let waits = (1...6).map { DeliveryPolicy.backoff(attempt: $0, base: 1, cap: 300, jitter: 1) }
        #expect(waits == [1, 2, 4, 8, 16, 32])
        let halves = (1...4).map { DeliveryPolicy.backoff(attempt: $0, base: 0.5, cap: 300, jitter: 1) }
        #expect(halves == [0.5, 1, 2, 4])
    }

    @Test func attemptsZeroAndOneWaitTheBase() {
        #expect(DeliveryPolicy.backoff(attempt: 0, base: 3, cap: 300, jitter: 1) == 3)
        #expect(DeliveryPolicy.backoff(attempt: 1, base: 3, cap: 300, jitter: 1) == 3)
        #expect(DeliveryPolicy.backoff(attempt: -5, base: 3, cap: 300, jitter: 1) == 3)
    }

    @Test func jitterScalesTheWaitBy20PercentEitherWay() {
        // attempt 3, base 1: 4 seconds before jitter.
        #expect(nearly(DeliveryPolicy.backoff(attempt: 3, base: 1, cap: 300, jitter: 0.8), 3.2))
        #expect(nearly(DeliveryPolicy.backoff(attempt: 3, base: 1, cap: 300, jitter: 1.2), 4.8))
        #expect(DeliveryPolicy.jitter.lowerBound == 0.8)
        #expect(DeliveryPolicy.jitter.upperBound == 1.2)
    }

    @Test func theCapHoldsForLargeAttemptsAndJitterAppliesToIt() {
        // 1 * 2^9 = 512 > 300.
        #expect(DeliveryPolicy.backoff(attempt: 10, base: 1, cap: 300, jitter: 1) == 300)
        #expect(DeliveryPolicy.backoff(attempt: 9, base: 1, cap: 300, jitter: 1) == 256)
        #expect(nearly(DeliveryPolicy.backoff(attempt: 50, base: 1, cap: 300, jitter: 0.8), 240))
        #expect(nearly(DeliveryPolicy.backoff(attempt: 1_000_000, base: 1, cap: 300, jitter: 1.2), 360))
        #expect(DeliveryPolicy.backoff(attempt: Int.max, base: 1, cap: 300, jitter: 1) == 300)
        // Past 2^30 the exponent stops growing, so a huge cap is not reached by overflow.
        #expect(DeliveryPolicy.backoff(attempt: 40, base: 1, cap: .infinity, jitter: 1) == 1_073_741_824)
    }

    @Test func drawnJitterStaysWithinItsBoundsAndReachesBothEnds() {
        var high = ConstantRandom(value: .max)
        #expect(nearly(DeliveryPolicy.backoff(attempt: 4, base: 1, cap: 300, using: &high), 9.6))

        var stepping = SteppingRandom(steps: 64)
        var waits: [TimeInterval] = []
        for _ in 0..<64 {
            waits.append(DeliveryPolicy.backoff(attempt: 2, base: 10, cap: 300, using: &stepping))
        }
        // attempt 2, base 10: 20 seconds, between 16 and 24.
        #expect(waits.allSatisfy { $0 >= 16 * (1 - 1e-9) && $0 <= 24 * (1 + 1e-9) })
        #expect(waits.min().map { $0 < 16.5 } == true)
        #expect(waits.max().map { $0 > 23.5 } == true)
    }

    @Test func optionsBackoffUsesTheConfiguredBaseCapAndJitter() {
        var options = DeliveryOptions()
        options.backoffBase = 2
        options.backoffCap = 10
        let third = (0..<200).map { _ in options.backoff(attempt: 3) }
        // 2 * 2^2 = 8 seconds, between 6.4 and 9.6.
        #expect(third.allSatisfy { $0 >= 6.4 * (1 - 1e-9) && $0 <= 9.6 * (1 + 1e-9) })
        #expect(Set(third).count > 1, "the wait is jittered")
        let capped = (0..<200).map { _ in options.backoff(attempt: 12) }
        #expect(capped.allSatisfy { $0 >= 8 * (1 - 1e-9) && $0 <= 12 * (1 + 1e-9) })
    }

    @Test func theDefaultsAreOneSecondAndFiveMinutes() {
        let policy = DeliveryPolicy(options: DeliveryOptions(), requestTimeout: .seconds(30))
        #expect(policy.backoff(attempt: 1, jitter: 1) == 1)
        #expect(nearly(policy.backoff(attempt: 1, jitter: 0.8), 0.8))
        #expect(nearly(policy.backoff(attempt: 100, jitter: 0.8), 240))
        #expect(nearly(policy.backoff(attempt: 100, jitter: 1.2), 360))
    }
}
