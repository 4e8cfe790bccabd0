import Activation
import Foundation
import Store
import Testing

/// What processes sharing one store coordinate through it, the same on every backend: a backfill
/// is run by one holder at a time, taken over once its hold runs out, freed by a restart; a named
/// turn has one holder at a time.
@Suite("Store contract: backfill holds and turns")
struct CoordinationContractTests {
    typealias Q = DeliveryQueueContractTests
    typealias B = BulkLaneContractTests

    /// A destination with five stored profiles and a backfill started, not yet claimed.
    static func startedBackfill(_ store: any ContractStore) async throws -> ActiveDestination {
        let destination = try await B.destination(store, threshold: nil)
        _ = try await store.ingest(B.ids.map { Q.profile($0, lastName: "L-\($0)") }, into: [], at: Q.t0)
        try await store.startBackfill(destinationId: destination.id)
        return destination
    }

    @Test(arguments: Backend.available)
    func oneHolderRunsABackfillAndAnotherTakesOverOnlyWhenTheHoldRunsOut(_ backend: Backend) async throws {
        try await backend.withStore { store in
            let destination = try await Self.startedBackfill(store)
            let first = BackfillHold(holder: 1, lease: 30)
            let second = BackfillHold(holder: 2, lease: 30)

            #expect(try await store.claimBackfills(first, now: Q.t0) == ["dest-1": 0])
            // Held: the other gets nothing, and its page is refused with nothing stored.
            #expect(try await store.claimBackfills(second, now: Q.t0.addingTimeInterval(10)).isEmpty)
            await #expect(throws: BackfillNotHeld.self) {
                try await store.backfill(destination, after: 0, limit: 2, at: Q.t0.addingTimeInterval(10), hold: second)
            }
            #expect(try await store.backlog(destinationId: "dest-1").pending == 0)

            // The holder's page moves the cursor and renews the hold (to t0 + 20 + 30).
            let page = try await store.backfill(destination, after: 0, limit: 2, at: Q.t0.addingTimeInterval(20), hold: first)
            let cursor = try #require(page.nextAfter)
            #expect(page.counts.queued == 2)
            #expect(try await store.claimBackfills(second, now: Q.t0.addingTimeInterval(45)).isEmpty)
            // A page from a stale cursor is refused too.
            await #expect(throws: BackfillNotHeld.self) {
                try await store.backfill(destination, after: 0, limit: 2, at: Q.t0.addingTimeInterval(21), hold: first)
            }

            // The holder stalls past its hold: the other takes over where it got to...
            #expect(try await store.claimBackfills(second, now: Q.t0.addingTimeInterval(51)) == ["dest-1": cursor])
            // ...and the stalled one, resumed, stores nothing more.
            await #expect(throws: BackfillNotHeld.self) {
                try await store.backfill(destination, after: cursor, limit: 2, at: Q.t0.addingTimeInterval(52), hold: first)
            }
            #expect(try await store.backlog(destinationId: "dest-1").pending == 2)
            var after = cursor
            while true {
                let next = try await store.backfill(destination, after: after, limit: 2, at: Q.t0.addingTimeInterval(53), hold: second)
                guard let nextAfter = next.nextAfter else { break }
                after = nextAfter
            }
            #expect(try await store.backlog(destinationId: "dest-1").pending == 5)
            #expect(try await store.runningBackfills().isEmpty)
            #expect(try await store.claimBackfills(first, now: Q.t0.addingTimeInterval(200)).isEmpty)
        }
    }

    @Test(arguments: Backend.available)
    func aRestartFreesTheBackfillAndFencesItsHolder(_ backend: Backend) async throws {
        try await backend.withStore { store in
            let destination = try await Self.startedBackfill(store)
            let first = BackfillHold(holder: 1, lease: 30)
            let second = BackfillHold(holder: 2, lease: 30)
            #expect(try await store.claimBackfills(first, now: Q.t0) == ["dest-1": 0])
            let cursor = try #require(try await store.backfill(destination, after: 0, limit: 2, at: Q.t0, hold: first).nextAfter)

            // New mappings: the backfill starts again, free for anyone, however fresh the old hold.
            try await store.startBackfill(destinationId: destination.id)
            await #expect(throws: BackfillNotHeld.self) {
                try await store.backfill(destination, after: cursor, limit: 2, at: Q.t0.addingTimeInterval(1), hold: first)
            }
            #expect(try await store.claimBackfills(second, now: Q.t0.addingTimeInterval(1)) == ["dest-1": 0])
        }
    }

    @Test(arguments: Backend.available)
    func aDisabledDestinationsBackfillIsNotClaimed(_ backend: Backend) async throws {
        try await backend.withStore { store in
            _ = try await Self.startedBackfill(store)
            var stored = try #require(try await store.destination(id: "dest-1"))
            stored.status = .disabled
            try await store.saveDestination(stored)
            #expect(try await store.claimBackfills(BackfillHold(holder: 1, lease: 30), now: Q.t0).isEmpty)
            #expect(try await store.runningBackfills() == ["dest-1": 0])
        }
    }

    @Test(arguments: Backend.available)
    func aTurnHasOneHolderUntilItsLeaseRunsOut(_ backend: Backend) async throws {
        try await backend.withStore { (store: any ContractStore) async throws in
            #expect(try await store.takeTurn("alerts", holder: 1, lease: 15, now: Q.t0))
            #expect(try await store.takeTurn("alerts", holder: 2, lease: 15, now: Q.t0.addingTimeInterval(5)) == false)
            // Another name is another turn.
            #expect(try await store.takeTurn("other", holder: 2, lease: 15, now: Q.t0.addingTimeInterval(5)))
            // The holder renews (to t0 + 10 + 15); the other still waits at t0 + 20.
            #expect(try await store.takeTurn("alerts", holder: 1, lease: 15, now: Q.t0.addingTimeInterval(10)))
            #expect(try await store.takeTurn("alerts", holder: 2, lease: 15, now: Q.t0.addingTimeInterval(20)) == false)
            // The holder stops renewing: the other takes the turn, and the first has lost it.
            #expect(try await store.takeTurn("alerts", holder: 2, lease: 15, now: Q.t0.addingTimeInterval(26)))
            #expect(try await store.takeTurn("alerts", holder: 1, lease: 15, now: Q.t0.addingTimeInterval(27)) == false)
        }
    }

    @Test(arguments: Backend.available)
    func concurrentClaimersOfOneBackfillGetItOnce(_ backend: Backend) async throws {
        try await backend.withStore { store in
            _ = try await Self.startedBackfill(store)
            let won = try await withThrowingTaskGroup(of: Int.self) { group in
                for holder in 1...8 {
                    group.addTask { try await store.claimBackfills(BackfillHold(holder: Int64(holder), lease: 30), now: Q.t0).count }
                }
                return try await group.reduce(0, +)
            }
            #expect(won == 1)
        }
    }
}
