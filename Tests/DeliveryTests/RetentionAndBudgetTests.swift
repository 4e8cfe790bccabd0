import Foundation
import Testing
@testable import Delivery
@testable import Store

let start = Date(timeIntervalSince1970: 1_750_000_000)

func makePolicy(_ configure: (inout DeliveryOptions) -> Void = { _ in }, requestTimeout: Duration = .seconds(30)) -> DeliveryPolicy {
    var options = DeliveryOptions()
    configure(&options)
    return DeliveryPolicy(options: options, requestTimeout: requestTimeout)
}

@Suite("Retention")
struct RetentionTests {
    @Test func aRecordWithinTheWindowRetriesAfterTheWait() {
        let policy = makePolicy()
        // 71 hours of waits used, due again in exactly one hour: at the end of the 72-hour window.
        let result = policy.retryOrExhausted(
            retentionUsed: 71 * 3600, attempts: 4, code: "UNABLE_TO_LOCK_ROW", message: "row locked",
            after: 3600, outcomeUnknown: true, now: start
        )
        #expect(result == .retry(code: "UNABLE_TO_LOCK_ROW", message: "row locked", at: start.addingTimeInterval(3600), outcomeUnknown: true))
    }

    @Test func aRecordPastTheWindowFailsWithRetryExhausted() {
        let policy = makePolicy()
        let result = policy.retryOrExhausted(
            retentionUsed: 71 * 3600, attempts: 4, code: "UNABLE_TO_LOCK_ROW", message: "row locked",
            after: 3601, now: start
        )
        #expect(result == .failed(
            code: "RETRY_EXHAUSTED",
            message: "kept failing transiently for more than 72 hours after 5 attempts; last error UNABLE_TO_LOCK_ROW: row locked",
            fields: []
        ))
    }

    @Test func aShortWindowIsSaidInSeconds() {
        let policy = makePolicy { $0.retention = 90 }
        let result = policy.retryOrExhausted(
            retentionUsed: 80, attempts: 0, code: "SERVER_UNAVAILABLE", message: "try later", after: 11, now: start
        )
        #expect(result == .failed(
            code: "RETRY_EXHAUSTED",
            message: "kept failing transiently for more than 90 seconds after 1 attempts; last error SERVER_UNAVAILABLE: try later",
            fields: []
        ))
        let inTime = policy.retryOrExhausted(
            retentionUsed: 80, attempts: 0, code: "SERVER_UNAVAILABLE", message: "try later", after: 10, now: start
        )
        #expect(inTime == .retry(code: "SERVER_UNAVAILABLE", message: "try later", at: start.addingTimeInterval(10)))
    }

    @Test func timeSpentPausedDoesNotCountTowardTheWindow() {
        // Queued 100 hours ago, but paused most of that time: only the 20 s of waits between its
        // failures count, so a transient error now is retried, not a RETRY_EXHAUSTED.
        let policy = makePolicy()
        let record = ClaimedRecord(recordId: "001A", fields: [:], attempts: 2, queuedAt: start.addingTimeInterval(-100 * 3600), retentionUsed: 20)
        let results = policy.requeue([record], code: "HTTP_503", message: "unavailable", after: 30, countAttempt: true, now: start)
        #expect(results == ["001A": .retry(code: "HTTP_503", message: "unavailable", at: start.addingTimeInterval(30))])
    }

    @Test func aRequeuedBatchCountsAnAttemptOnlyWhenAskedTo() {
        let policy = makePolicy { $0.retention = 3600 }
        let fresh = ClaimedRecord(recordId: "001A", fields: [:], attempts: 0, queuedAt: start.addingTimeInterval(-60), retentionUsed: 0)
        let old = ClaimedRecord(recordId: "001B", fields: [:], attempts: 7, queuedAt: start.addingTimeInterval(-3590), retentionUsed: 3590)
        let counted = policy.requeue([fresh, old], code: "HTTP_503", message: "unavailable", after: 30, countAttempt: true, now: start)
        #expect(counted == [
            "001A": .retry(code: "HTTP_503", message: "unavailable", at: start.addingTimeInterval(30)),
            "001B": .failed(
                code: "RETRY_EXHAUSTED",
                message: "kept failing transiently for more than 1 hours after 8 attempts; last error HTTP_503: unavailable", fields: []
            ),
        ])
        // A paused connection is no record's fault: nothing is exhausted, nothing counted.
        let postponed = policy.requeue(
            [fresh, old], code: "PAUSED", message: "delivery paused", after: 30, countAttempt: false, outcomeUnknown: true, now: start
        )
        #expect(postponed == [
            "001A": .postpone(at: start.addingTimeInterval(30), outcomeUnknown: true),
            "001B": .postpone(at: start.addingTimeInterval(30), outcomeUnknown: true),
        ])
    }
}

@Suite("API budget")
struct APIBudgetTests {
    @Test func theBudgetIsReachedAtItsShare() {
        let policy = makePolicy()
        #expect(policy.overBudget(used: 800, max: 1000))
        #expect(policy.overBudget(used: 1200, max: 1000))
        #expect(!policy.overBudget(used: 799, max: 1000))
        #expect(!policy.overBudget(used: 0, max: 1000))
        let half = makePolicy { $0.apiBudgetShare = 0.5 }
        #expect(half.overBudget(used: 50_000, max: 100_000))
        #expect(!half.overBudget(used: 49_999, max: 100_000))
    }

    @Test func anOrgWithoutAnAllowanceIsNeverOverIt() {
        let policy = makePolicy()
        #expect(!policy.overBudget(used: 0, max: 0))
        #expect(!policy.overBudget(used: 5_000, max: 0))
    }

    @Test func theBudgetPausesTheConnectionUntilTheNextReading() {
        var policy = makePolicy()
        #expect(policy.admit(destinationId: "d1", connectionId: "c1", deliveryError: nil, now: start) == .open(sendersRunning: 0))
        let newPause = policy.pauseForBudget(connectionId: "c1", used: 800, max: 1000, now: start)
        #expect(newPause, "a new pause is said")
        let reason = "paused: API budget: the connection used 800 of the org's 1000 daily API calls; sfdest uses at most 80% and resumes by itself when usage allows"
        #expect(policy.status(of: "d1") == .pausedAPIBudget(reason: reason))
        #expect(policy.status(of: "d1").name == "paused_api_budget")
        #expect(policy.pause(ofConnection: "c1")?.until == start.addingTimeInterval(60))
        #expect(policy.isPaused(destinationId: "d1", connectionId: "c1", now: start.addingTimeInterval(59.9)))
        #expect(policy.admit(destinationId: "d1", connectionId: "c1", deliveryError: nil, now: start.addingTimeInterval(59.9)) == .paused)
        // The pause is over: the org's usage is read before anything is sent.
        #expect(policy.admit(destinationId: "d1", connectionId: "c1", deliveryError: nil, now: start.addingTimeInterval(60)) == .recheckBudget)
        #expect(policy.status(of: "d1") == .pausedAPIBudget(reason: reason), "still paused until the reading allows")

        // Still over: paused again, quietly, with the new figures.
        let pausedAgain = policy.pauseForBudget(connectionId: "c1", used: 900, max: 1000, now: start.addingTimeInterval(61))
        #expect(!pausedAgain, "said once")
        #expect(policy.pause(ofConnection: "c1")?.until == start.addingTimeInterval(121))
        #expect(policy.status(of: "d1").reason?.contains("used 900 of the org's 1000") == true)

        // The usage could not be read: the pause lasts until the next reading.
        policy.budgetUnread(connectionId: "c1", now: start.addingTimeInterval(130))
        #expect(policy.pause(ofConnection: "c1")?.until == start.addingTimeInterval(190))
        #expect(policy.status(of: "d1").name == "paused_api_budget")

        // The reading allows: the connection resumes.
        #expect(policy.admitAfterBudgetCheck(destinationId: "d1", connectionId: "c1") == .open(sendersRunning: 0))
        #expect(policy.pause(ofConnection: "c1") == nil)
        #expect(policy.status(of: "d1") == .idle)
    }

    @Test func theRecheckIntervalAndShareAreTheConfiguredOnes() {
        var policy = makePolicy {
            $0.apiBudgetRecheck = 15
            $0.apiBudgetShare = 0.25
        }
        policy.pauseForBudget(connectionId: "c1", used: 30, max: 100, now: start)
        #expect(policy.pause(ofConnection: "c1") == DeliveryPolicy.Pause(
            until: start.addingTimeInterval(15),
            status: .pausedAPIBudget(reason: "paused: API budget: the connection used 30 of the org's 100 daily API calls; sfdest uses at most 25% and resumes by itself when usage allows")
        ))
    }

    @Test func anUnreadBudgetPausesNothingThatWasNotPaused() {
        var policy = makePolicy()
        policy.budgetUnread(connectionId: "c1", now: start)
        #expect(policy.pause(ofConnection: "c1") == nil)
    }
}
