import Foundation
import Testing
@testable import Delivery

/// The connection's requests in flight, as answers adjust them.
@Suite("Adaptive concurrency")
struct AdaptiveConcurrencyTests {
    @Test func cleanAnswersDoubleTheLimitEachRoundUntilThePushBackThenRaiseItByOne() {
        var limit = AdaptiveConcurrency(initial: 2, ceiling: 20)
        var now = start
        // Slow start: two clean answers (one round at 2) make 4, four more 8, eight more 16.
        for expected in [4, 8, 16] {
            for _ in 0..<(expected / 2 - 1) { do { let changed = limit.answered(latency: 0.3, records: 200, lockErrors: 0, now: now); #expect(!changed) }; now += 0.3 }
            do { let changed = limit.answered(latency: 0.3, records: 200, lockErrors: 0, now: now); #expect(changed) }
            #expect(limit.limit == expected)
            now += 0.3
        }
        // Pushed back once: halved, and from then on one more a round.
        do { let changed = limit.congested(now: now); #expect(changed) }
        #expect(limit.limit == 8 && !limit.slowStart)
        for _ in 0..<8 { limit.answered(latency: 0.31, records: 200, lockErrors: 0, now: now); now += 0.3 }
        #expect(limit.limit == 9)
        for _ in 0..<400 { limit.answered(latency: 0.3, records: 200, lockErrors: 0, now: now); now += 0.3 }
        #expect(limit.limit == 20, "the ceiling holds")
    }

    @Test func congestionHalvesTheLimitOncePerRound() {
        var limit = AdaptiveConcurrency(initial: 16, ceiling: 25)
        _ = limit.answered(latency: 0.3, records: 200, lockErrors: 0, now: start)
        do { let changed = limit.congested(now: start.addingTimeInterval(1)); #expect(changed) }
        #expect(limit.limit == 8)
        // The other requests of that round fail too: no further decrease within the round.
        do { let changed = limit.congested(now: start.addingTimeInterval(1.2)); #expect(!changed) }
        #expect(limit.limit == 8)
        // A later round: halved again, never below 1.
        do { let changed = limit.congested(now: start.addingTimeInterval(3)); #expect(changed) }
        #expect(limit.limit == 4)
        for second in [5.0, 7, 9, 11] { limit.congested(now: start.addingTimeInterval(second)) }
        #expect(limit.limit == 1)
    }

    @Test func aBurstOfLockErrorsIsCongestionAndAFewAreNot() {
        var limit = AdaptiveConcurrency(initial: 8, ceiling: 25)
        do { let changed = limit.answered(latency: 0.3, records: 200, lockErrors: 5, now: start); #expect(!changed, "2.5% lock errors: a clean round goes on") }
        do { let changed = limit.answered(latency: 0.3, records: 200, lockErrors: 40, now: start.addingTimeInterval(1)); #expect(changed) }
        #expect(limit.limit == 4)
    }

    @Test func latencyFarAboveItsFloorLowersTheLimitInsteadOfRaisingIt() {
        var limit = AdaptiveConcurrency(initial: 6, ceiling: 25)
        for second in 0..<3 { limit.answered(latency: 0.2, records: 200, lockErrors: 0, now: start.addingTimeInterval(Double(second))) }
        // The org queues the requests: 0.2 s became 0.9 s.
        do { let changed = limit.answered(latency: 0.9, records: 200, lockErrors: 0, now: start.addingTimeInterval(5)); #expect(changed) }
        #expect(limit.limit == 5)
        // Loopback jitter (2 ms to 20 ms) is not congestion: the 50 ms margin absorbs it. And an
        // org that answers in milliseconds gets no more requests: the time is this machine's.
        var fast = AdaptiveConcurrency(initial: 2, ceiling: 25)
        for _ in 0..<20 {
            fast.answered(latency: 0.002, records: 200, lockErrors: 0, now: start)
            fast.answered(latency: 0.02, records: 200, lockErrors: 0, now: start)
        }
        #expect(fast.limit == 2)
    }

    @Test func theConnectionsLimitIsSharedByItsDestinationsAndEachKeepsOneSender() {
        var policy = makePolicy { $0.concurrentRequests = 2; $0.maxConcurrentRequests = 2 }
        for destination in ["d1", "d2", "d3"] {
            #expect(policy.admit(destinationId: destination, connectionId: "c1", deliveryError: nil, now: start) == .open(sendersRunning: 0))
            policy.senderStarted(destination)
        }
        // Three senders on a connection limited to 2: none more, even busy; each destination kept one.
        policy.claimedFullBatch("d1")
        #expect(policy.admit(destinationId: "d1", connectionId: "c1", deliveryError: nil, now: start) == .full)
        #expect(!policy.shouldShrink(destinationId: "d1", connectionId: "c1"), "a destination's only sender never stops for the limit")
        do { let changed = policy.answered(connectionId: "c1", latency: 0.3, records: 200, lockErrors: 0, now: start); #expect(changed == nil, "a fixed limit does not adapt") }
    }

    @Test func theLimitAdaptsPerConnectionAndExtraSendersStopWhenItComesDown() {
        var policy = makePolicy { $0.concurrentRequests = 2; $0.maxConcurrentRequests = 25 }
        #expect(policy.admit(destinationId: "d1", connectionId: "c1", deliveryError: nil, now: start) == .open(sendersRunning: 0))
        policy.senderStarted("d1")
        for _ in 0..<2 { _ = policy.answered(connectionId: "c1", latency: 0.3, records: 200, lockErrors: 0, now: start) }
        #expect(policy.concurrencyLimit("c1") == 4)
        #expect(policy.concurrencyLimit("c2") == 2, "another connection starts from the setting")
        for _ in 0..<2 {
            policy.claimedFullBatch("d1")
            _ = policy.admit(destinationId: "d1", connectionId: "c1", deliveryError: nil, now: start)
            policy.senderStarted("d1")
        }
        #expect(policy.senders(onConnection: "c1") == 3)
        do { let changed = policy.congested(connectionId: "c1", now: start.addingTimeInterval(1)); #expect(changed == 2) }
        #expect(policy.shouldShrink(destinationId: "d1", connectionId: "c1"))
        policy.senderEnded("d1")
        policy.senderEnded("d1")
        #expect(!policy.shouldShrink(destinationId: "d1", connectionId: "c1"))
    }
}
