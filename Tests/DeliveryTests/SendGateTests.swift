import Foundation
import Testing
@testable import Delivery

/// Whether a destination may start another sender now, and what it shows meanwhile.
@Suite("May send now")
struct SendGateTests {
    func admit(_ policy: inout DeliveryPolicy, _ destinationId: String = "d1", _ connectionId: String = "c1", at now: Date = start) -> DeliveryPolicy.Admission {
        policy.admit(destinationId: destinationId, connectionId: connectionId, deliveryError: nil, now: now)
    }

    @Test func anIdleDestinationMaySend() {
        var policy = makePolicy()
        #expect(self.admit(&policy) == .open(sendersRunning: 0))
        #expect(policy.status(of: "d1") == .idle)
        #expect(!policy.sendersRunning)
    }

    @Test func aDestinationWithAnErrorIsStoppedAndShowsIt() {
        var policy = makePolicy()
        let admission = policy.admit(destinationId: "d1", connectionId: "c1", deliveryError: "fix the mapping", now: start)
        #expect(admission == .stopped)
        #expect(policy.status(of: "d1") == .failed(reason: "fix the mapping"))
        #expect(policy.status(of: "d1").reason == "fix the mapping")
    }

    @Test func aPausedDestinationWaits() {
        var policy = makePolicy()
        _ = self.admit(&policy)
        // Backoff of 0.8 s (base 1, lower end of the jitter).
        _ = policy.requestFailed(
            .transient(outcomeUnknown: false), reason: "HTTP_500", destinationId: "d1", connectionId: "c1", now: start,
            instant: .now, jitter: 0.8
        )
        #expect(self.admit(&policy, at: start.addingTimeInterval(0.79)) == .paused)
        #expect(self.admit(&policy, "d2", at: start.addingTimeInterval(0.79)) == .open(sendersRunning: 0), "another destination of the connection goes on")
        #expect(self.admit(&policy, at: start.addingTimeInterval(0.8)) == .open(sendersRunning: 0))
    }

    @Test func aPausedConnectionHoldsEachOfItsDestinations() {
        var policy = makePolicy()
        _ = policy.requestFailed(
            .credentialsRefused, reason: "invalid_grant", destinationId: "d1", connectionId: "c1", now: start,
            instant: .now, jitter: 0.8
        )
        #expect(self.admit(&policy, "d1", at: start.addingTimeInterval(59)) == .paused)
        #expect(self.admit(&policy, "d2", at: start.addingTimeInterval(59)) == .paused)
        #expect(policy.status(of: "d2") == .authenticationFailed(reason: "invalid_grant"))
        #expect(self.admit(&policy, "d3", "c2", at: start.addingTimeInterval(59)) == .open(sendersRunning: 0))
        #expect(self.admit(&policy, "d2", at: start.addingTimeInterval(60)) == .open(sendersRunning: 0))
        #expect(policy.status(of: "d1") == .idle)
    }

    @Test func aSecondSenderStartsOnlyBesideOneThatFoundAFullBatch() {
        var policy = makePolicy()
        policy.senderStarted("d1")
        #expect(policy.sendersRunning)
        #expect(policy.status(of: "d1") == .delivering)
        #expect(self.admit(&policy) == .full)
        policy.claimedFullBatch("d1")
        #expect(self.admit(&policy) == .open(sendersRunning: 1))
        // The mark lets one more start, not one per gate.
        #expect(self.admit(&policy) == .full)
    }

    @Test func theConcurrencyLimitHoldsEvenWhenBusy() {
        var policy = makePolicy { $0.concurrentRequests = 2 }
        policy.senderStarted("d1")
        policy.claimedFullBatch("d1")
        #expect(self.admit(&policy) == .open(sendersRunning: 1))
        policy.senderStarted("d1")
        policy.claimedFullBatch("d1")
        #expect(self.admit(&policy) == .full)
        policy.senderEnded("d1")
        #expect(self.admit(&policy) == .open(sendersRunning: 1), "the busy mark was kept while the limit held")
        policy.senderEnded("d1")
        #expect(self.admit(&policy) == .open(sendersRunning: 0))
        #expect(!policy.sendersRunning)
    }

    @Test func aDestinationWithNothingQueuedShowsIdleOnlyWithoutSenders() {
        var policy = makePolicy()
        _ = self.admit(&policy)
        _ = policy.requestFailed(
            .transient(outcomeUnknown: false), reason: "HTTP_502", destinationId: "d1", connectionId: "c1", now: start,
            instant: .now, jitter: 0.8
        )
        policy.nothingQueued("d1", sendersRunning: 1)
        #expect(policy.status(of: "d1").name == "backing_off")
        policy.nothingQueued("d1", sendersRunning: 0)
        #expect(policy.status(of: "d1") == .idle)
    }

    @Test func aPartialBatchWaitsForTheLinger() {
        // Linger 250 ms by default.
        let policy = makePolicy()
        #expect(policy.linger == 0.25)
        #expect(policy.lingerWait(nextDue: nil, now: start) == nil)
        #expect(policy.lingerWait(nextDue: start.addingTimeInterval(0.001), now: start) == nil, "nothing due yet")
        #expect(policy.lingerWait(nextDue: start, now: start) == 0.25)
        // Dates hold about seven digits after the second here.
        #expect(policy.lingerWait(nextDue: start.addingTimeInterval(-0.1), now: start).map { abs($0 - 0.15) < 1e-6 } == true)
        #expect(policy.lingerWait(nextDue: start.addingTimeInterval(-1), now: start).map { $0 <= 0 } == true, "waited long enough")
        let longer = makePolicy { $0.linger = .milliseconds(1500) }
        #expect(longer.linger == 1.5)
    }
}
