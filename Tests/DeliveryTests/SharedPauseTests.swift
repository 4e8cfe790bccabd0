import Foundation
import Testing
@testable import Delivery
@testable import Store

/// What a process does with the connection pauses the others saved (`DeliveryPolicy.adopt`).
@Suite("Shared connection pauses")
struct SharedPauseTests {
    @Test func aLongerPauseSavedByAnotherProcessIsAdoptedAndAShorterOneIsNot() {
        var policy = makePolicy { $0.throttlePause = 60 }
        _ = policy.requestFailed(.throttled, reason: "REQUEST_LIMIT_EXCEEDED", destinationId: "d1", connectionId: "c1", now: start, instant: .now, jitter: 1)
        let own = try! #require(policy.pause(ofConnection: "c1"))
        #expect(own.until == start.addingTimeInterval(60))
        // Saved as it is here: what another process adopts.
        #expect(policy.sharedPause(ofConnection: "c1") == ConnectionPause(
            connectionId: "c1", kind: .apiLimit, reason: "REQUEST_LIMIT_EXCEEDED", until: start.addingTimeInterval(60)
        ))

        let shorter = ConnectionPause(connectionId: "c1", kind: .apiLimit, reason: "other", until: start.addingTimeInterval(30))
        #expect(policy.adopt([shorter], now: start).kept == ["c1"])
        #expect(policy.pause(ofConnection: "c1") == own)

        let longer = ConnectionPause(connectionId: "c1", kind: .credentialsRefused, reason: "refused", until: start.addingTimeInterval(600), refusals: 4)
        policy.adopt([longer], now: start)
        #expect(policy.pause(ofConnection: "c1") == DeliveryPolicy.Pause(until: start.addingTimeInterval(600), status: .authenticationFailed(reason: "refused")))
        // The refusals counted elsewhere grow the wait here: the fifth refusal waits 60 s * 2^4.
        let decision = policy.requestFailed(
            .credentialsRefused, reason: "refused", destinationId: "d1", connectionId: "c1", now: start, instant: .now, jitter: 1
        )
        #expect(decision == .credentialsRefused(pause: 960))
    }

    @Test func aPauseThatRanOutIsNotTakenAgainExceptTheBudgetsWhichWaitsForAReading() {
        var policy = makePolicy()
        let later = start.addingTimeInterval(120)
        policy.adopt([
            ConnectionPause(connectionId: "c1", kind: .apiLimit, reason: "limit", until: start),
            ConnectionPause(connectionId: "c2", kind: .apiBudget, reason: "budget", until: start),
        ], now: later)
        #expect(policy.pause(ofConnection: "c1") == nil)
        #expect(policy.admit(destinationId: "d1", connectionId: "c1", deliveryError: nil, now: later) == .open(sendersRunning: 0))
        #expect(policy.admit(destinationId: "d2", connectionId: "c2", deliveryError: nil, now: later) == .recheckBudget)
        #expect(policy.status(of: "d2") == .pausedAPIBudget(reason: "budget"))
    }

    /// A worker adopted a pause, then another process ended it (the destination enabled again):
    /// the worker must not wait out the rest of it. Heard of the end only through the store, as a
    /// worker that adopted the pause after the signal would.
    @Test func aPauseTheStoreHadAndNoLongerHasEndsHereTooButOnlyIfItWasShared() {
        var policy = makePolicy()
        let shared = ConnectionPause(connectionId: "c1", kind: .apiLimit, reason: "limit", until: start.addingTimeInterval(60))
        #expect(policy.adopt([shared], now: start).kept == ["c1"])
        #expect(policy.admit(destinationId: "d1", connectionId: "c1", deliveryError: nil, now: start.addingTimeInterval(1)) == .paused)
        // The store no longer has it: ended elsewhere, 59 s early.
        let ended = policy.adopt([], now: start.addingTimeInterval(1), wasShared: ["c1"])
        #expect(ended.kept.isEmpty)
        #expect(policy.pause(ofConnection: "c1") == nil)
        #expect(policy.admit(destinationId: "d1", connectionId: "c1", deliveryError: nil, now: start.addingTimeInterval(1)) == .open(sendersRunning: 0))
        // A pause this process set and has not saved yet is not the store's to end.
        _ = policy.requestFailed(.throttled, reason: "REQUEST_LIMIT_EXCEEDED", destinationId: "d2", connectionId: "c2", now: start, instant: .now, jitter: 1)
        policy.adopt([], now: start.addingTimeInterval(1), wasShared: ["c1"])
        #expect(policy.pause(ofConnection: "c2") != nil)
        // A budget pause ended elsewhere before it ran out: lifted, and its usage forgotten.
        policy.pauseForBudget(connectionId: "c3", used: 80, max: 100, now: start)
        #expect(policy.adopt([], now: start.addingTimeInterval(5), wasShared: ["c3"]).budgetLifted == ["c3"])
        #expect(policy.pause(ofConnection: "c3") == nil)
    }

    @Test func aBudgetPauseTheStoreNoLongerHasWasLiftedByTheProcessThatReadTheUsage() {
        var policy = makePolicy()
        policy.pauseForBudget(connectionId: "c1", used: 80, max: 100, now: start)
        policy.pauseForBudget(connectionId: "c2", used: 80, max: 100, now: start)
        // Before it runs out the pause stays whatever the store says (this process may not have saved it yet).
        #expect(policy.adopt([], now: start.addingTimeInterval(30)).budgetLifted.isEmpty)
        #expect(policy.pause(ofConnection: "c1") != nil)
        // Run out: c1's pause is gone from the store (another process read the usage), c2's is kept.
        let after = start.addingTimeInterval(61)
        let kept = ConnectionPause(connectionId: "c2", kind: .apiBudget, reason: "budget", until: start.addingTimeInterval(60))
        let adopted = policy.adopt([kept], now: after)
        #expect(adopted == DeliveryPolicy.Adopted(kept: ["c2"], budgetLifted: ["c1"]))
        #expect(policy.admit(destinationId: "d1", connectionId: "c1", deliveryError: nil, now: after) == .open(sendersRunning: 0))
        #expect(policy.admit(destinationId: "d2", connectionId: "c2", deliveryError: nil, now: after) == .recheckBudget)
    }
}
