import Foundation
import Testing
@testable import Delivery

/// Request-level trouble: refused credentials, the API allowance, transient and permanent failures.
@Suite("Request trouble")
struct RequestTroubleTests {
    let instant = ContinuousClock.now

    /// Seen once by the gate, so the policy knows the destinations' connections.
    func seen(_ destinations: [(String, String)], _ configure: (inout DeliveryOptions) -> Void = { _ in }) -> DeliveryPolicy {
        var policy = makePolicy(configure)
        for (destinationId, connectionId) in destinations {
            _ = policy.admit(destinationId: destinationId, connectionId: connectionId, deliveryError: nil, now: start)
        }
        return policy
    }

    func fail(
        _ policy: inout DeliveryPolicy, _ trouble: DeliveryPolicy.RequestTrouble, reason: String = "why",
        destination: String = "d1", connection: String = "c1", at now: Date = start, jitter: Double = 0.8
    ) -> DeliveryPolicy.TroubleDecision {
        policy.requestFailed(
            trouble, reason: reason, destinationId: destination, connectionId: connection, now: now, instant: self.instant, jitter: jitter
        )
    }

    @Test func throttlingPausesEveryDestinationOfTheConnection() {
        var policy = self.seen([("d1", "c1"), ("d2", "c1"), ("d3", "c2")]) { $0.throttlePause = 60 }
        let reason = "REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded."
        #expect(self.fail(&policy, .throttled, reason: reason) == .throttled(pause: 60))
        #expect(policy.status(of: "d1") == .pausedAPILimit(reason: reason))
        #expect(policy.status(of: "d2") == .pausedAPILimit(reason: reason))
        #expect(policy.status(of: "d2").name == "paused_api_limit")
        #expect(policy.status(of: "d3") == .idle)
        for destination in ["d1", "d2"] {
            #expect(policy.isPaused(destinationId: destination, connectionId: "c1", now: start.addingTimeInterval(59)))
            #expect(!policy.isPaused(destinationId: destination, connectionId: "c1", now: start.addingTimeInterval(60)))
            #expect(policy.admit(destinationId: destination, connectionId: "c1", deliveryError: nil, now: start.addingTimeInterval(59)) == .paused)
        }
        #expect(!policy.isPaused(destinationId: "d3", connectionId: "c2", now: start))
        // Over: the next gate lifts the pause for all of them.
        #expect(policy.admit(destinationId: "d2", connectionId: "c1", deliveryError: nil, now: start.addingTimeInterval(60)) == .open(sendersRunning: 0))
        #expect(policy.status(of: "d1") == .idle)
        #expect(policy.pause(ofConnection: "c1") == nil)
    }

    @Test func theThrottlePauseIsTheConfiguredOneAndByDefaultAFewSeconds() {
        var policy = self.seen([("d1", "c1")]) { $0.throttlePause = 30 }
        #expect(self.fail(&policy, .throttled) == .throttled(pause: 30))
        #expect(policy.pause(ofConnection: "c1")?.until == start.addingTimeInterval(30))
        // By default the next batch tries again after 5 s: it is the probe, so delivery resumes
        // within 5 s of the allowance coming back.
        var byDefault = self.seen([("d1", "c1")])
        #expect(self.fail(&byDefault, .throttled) == .throttled(pause: 5))
    }

    @Test func theFirstRequestThroughAfterRefusalsSaysSinceWhenAndWhyOnce() {
        var policy = self.seen([("d1", "c1"), ("d2", "c1")])
        #expect(policy.delivered(destinationId: "d1", connectionId: "c1", now: start) == nil, "nothing was refused")
        let reason = "REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded."
        _ = self.fail(&policy, .throttled, reason: reason, at: start)
        _ = self.fail(&policy, .throttled, reason: reason, destination: "d2", at: start.addingTimeInterval(5))
        // Through again 12 s after the first refusal, whichever destination sends.
        let resumed = policy.delivered(destinationId: "d2", connectionId: "c1", now: start.addingTimeInterval(12))
        #expect(resumed == DeliveryPolicy.Resumption(after: .pausedAPILimit(reason: reason), refusedFor: 12))
        #expect(policy.delivered(destinationId: "d1", connectionId: "c1", now: start.addingTimeInterval(13)) == nil, "said once")
        // Refused credentials, later fixed, are said the same way.
        _ = self.fail(&policy, .credentialsRefused, reason: "invalid_grant", at: start.addingTimeInterval(20))
        #expect(policy.delivered(destinationId: "d1", connectionId: "c1", now: start.addingTimeInterval(80))?.after.name == "authentication_failed")
    }

    @Test func refusedCredentialsWaitTwiceAsLongEachTimeUpToAnHour() {
        var policy = self.seen([("d1", "c1"), ("d2", "c1")])
        var pauses: [TimeInterval] = []
        for _ in 0..<9 {
            guard case .credentialsRefused(let pause) = self.fail(&policy, .credentialsRefused, reason: "invalid_grant: authentication failure") else {
                Issue.record("not a refusal")
                return
            }
            pauses.append(pause)
        }
        #expect(pauses == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600])
        #expect(policy.status(of: "d2") == .authenticationFailed(reason: "invalid_grant: authentication failure"))
        #expect(policy.pause(ofConnection: "c1")?.until == start.addingTimeInterval(3600))
    }

    @Test func newCredentialsEndTheRefusalsAndThePause() {
        var policy = self.seen([("d1", "c1")])
        _ = self.fail(&policy, .credentialsRefused)
        _ = self.fail(&policy, .credentialsRefused)
        #expect(self.fail(&policy, .credentialsRefused) == .credentialsRefused(pause: 240))
        // A change of the destination alone does not forgive its connection's refusals.
        policy.destinationChanged("d1")
        #expect(self.fail(&policy, .credentialsRefused) == .credentialsRefused(pause: 480))
        policy.connectionChanged("c1")
        #expect(policy.pause(ofConnection: "c1") == nil)
        #expect(policy.status(of: "d1") == .idle)
        #expect(self.fail(&policy, .credentialsRefused) == .credentialsRefused(pause: 60))
    }

    @Test func aDeliveredBatchEndsTheRefusals() {
        var policy = self.seen([("d1", "c1")]) { $0.authenticationPause = 10 }
        #expect(self.fail(&policy, .credentialsRefused) == .credentialsRefused(pause: 10))
        #expect(self.fail(&policy, .credentialsRefused) == .credentialsRefused(pause: 20))
        policy.delivered(destinationId: "d1", connectionId: "c1")
        #expect(self.fail(&policy, .credentialsRefused) == .credentialsRefused(pause: 10))
    }

    @Test func transientFailuresBackOffLongerEachTimeUntilADelivery() {
        var policy = self.seen([("d1", "c1"), ("d2", "c1")])
        let reason = "HTTP_503: Service Unavailable"
        for failure in 1...5 {
            let expected = pow(2, Double(failure - 1))
            guard case .backingOff(let wait, let after, let unknown) = self.fail(&policy, .transient(outcomeUnknown: false), reason: reason, jitter: 1.2)
            else {
                Issue.record("not a backoff")
                return
            }
            // The upper end of the jitter: 1.2 times 1, 2, 4, 8, 16 seconds.
            #expect(nearly(wait, 1.2 * expected), "failure \(failure)")
            #expect(after == wait)
            #expect(!unknown)
            #expect(policy.status(of: "d1") == .backingOff(until: self.instant + .seconds(wait), reason: reason))
            #expect(policy.status(of: "d1").name == "backing_off")
            #expect(policy.isPaused(destinationId: "d1", connectionId: "c1", now: start.addingTimeInterval(wait - 0.01)))
            #expect(!policy.isPaused(destinationId: "d1", connectionId: "c1", now: start.addingTimeInterval(wait)))
        }
        // Only the failing destination backs off.
        #expect(policy.status(of: "d2") == .idle)
        #expect(!policy.isPaused(destinationId: "d2", connectionId: "c1", now: start))

        policy.delivered(destinationId: "d1", connectionId: "c1")
        #expect(policy.status(of: "d1") == .idle)
        #expect(!policy.isPaused(destinationId: "d1", connectionId: "c1", now: start))
        guard case .backingOff(let wait, _, _) = self.fail(&policy, .transient(outcomeUnknown: false), jitter: 0.8) else {
            Issue.record("not a backoff")
            return
        }
        #expect(nearly(wait, 0.8), "back to the first wait, at the lower end of the jitter")
    }

    @Test func aChangedDestinationStartsItsBackoffAgain() {
        var policy = self.seen([("d1", "c1")]) { $0.backoffBase = 2 }
        _ = self.fail(&policy, .transient(outcomeUnknown: false), jitter: 0.8)
        _ = self.fail(&policy, .transient(outcomeUnknown: false), jitter: 0.8)
        policy.destinationChanged("d1")
        #expect(policy.status(of: "d1") == .idle)
        #expect(!policy.isPaused(destinationId: "d1", connectionId: "c1", now: start))
        guard case .backingOff(let wait, _, _) = self.fail(&policy, .transient(outcomeUnknown: false), jitter: 0.8) else {
            Issue.record("not a backoff")
            return
        }
        #expect(nearly(wait, 1.6))
    }

    @Test func anUnknownOutcomeWaitsAtLeastTwiceTheRequestTimeout() {
        // Request timeout 30 s: the settle time is 60 s, longer than the first backoff.
        var policy = self.seen([("d1", "c1")])
        #expect(policy.ambiguousSettle == 60)
        guard case .backingOff(let wait, let after, let unknown) = self.fail(&policy, .transient(outcomeUnknown: true)) else {
            Issue.record("not a backoff")
            return
        }
        #expect(nearly(wait, 0.8))
        #expect(after == 60)
        #expect(unknown)
        // The destination itself backs off only the backoff; the records wait out the settle time.
        #expect(!policy.isPaused(destinationId: "d1", connectionId: "c1", now: start.addingTimeInterval(1)))
    }

    @Test func aBackoffLongerThanTheSettleTimeIsKept() {
        var policy = makePolicy({ $0.backoffBase = 100 }, requestTimeout: .milliseconds(1500))
        #expect(policy.ambiguousSettle == 3)
        let decision = policy.requestFailed(
            .transient(outcomeUnknown: true), reason: "REQUEST_TIMEOUT: timed out", destinationId: "d1", connectionId: "c1",
            now: start, instant: self.instant, jitter: 0.8
        )
        guard case .backingOff(let wait, let after, true) = decision else {
            Issue.record("not a backoff with an unknown outcome")
            return
        }
        #expect(nearly(wait, 80))
        #expect(after == wait)
    }

    @Test func aConfiguredSettleTimeReplacesTwiceTheTimeout() {
        var policy = makePolicy({ $0.ambiguousSettle = 7 }, requestTimeout: .seconds(30))
        #expect(policy.ambiguousSettle == 7)
        let decision = policy.requestFailed(
            .transient(outcomeUnknown: true), reason: "x", destinationId: "d1", connectionId: "c1", now: start, instant: self.instant, jitter: 0.8
        )
        #expect(decision == .backingOff(wait: 0.8, requeueAfter: 7, outcomeUnknown: true))
    }

    @Test func theLeaseIsNeverShorterThanTheSettleTime() {
        #expect(makePolicy(requestTimeout: .seconds(30)).lease == 120)
        #expect(makePolicy(requestTimeout: .seconds(90)).lease == 180)
        #expect(makePolicy({ $0.lease = 10 }, requestTimeout: .seconds(2)).lease == 10)
        #expect(makePolicy({ $0.lease = 10; $0.ambiguousSettle = 25 }).lease == 25)
        #expect(makePolicy({ $0.lease = 300; $0.ambiguousSettle = 25 }).lease == 300)
    }

    @Test func aPermanentFailureStopsTheDestination() {
        var policy = self.seen([("d1", "c1"), ("d2", "c1")])
        let reason = "INVALID_FIELD: No such column 'Loyalty__c' on sobject of type Contact"
        let decision = self.fail(&policy, .permanent, reason: reason)
        let message = "Salesforce refused every request of this destination: INVALID_FIELD: No such column 'Loyalty__c' on sobject of type Contact. Fix it, then enable the destination again (POST /v1/destinations/d1/enable); queued changes are kept."
        #expect(decision == .stop(message: message))
        // Shown once the service has saved it on the destination.
        policy.destinationFailed("d1", reason: message)
        #expect(policy.status(of: "d1") == .failed(reason: message))
        #expect(policy.status(of: "d1").name == "failed")
        #expect(policy.status(of: "d2") == .idle, "the connection's other destinations go on")
        #expect(!policy.isPaused(destinationId: "d2", connectionId: "c1", now: start))
    }
}
