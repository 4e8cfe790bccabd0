import Activation
import Foundation
import Store
import Testing

/// Claims, leases and fencing, the same on every backend that holds queues: a sender whose
/// lease ran out and was taken over cannot overwrite what the new owner does.
@Suite("Store contract: claims, leases and fencing")
struct DeliveryQueueContractTests {
    static let t0 = Date(timeIntervalSince1970: 1_795_168_800)
    static let ids = ["003xx000004TmiQAAS", "003xx000004TmiRAAS"]

    static func destination() throws -> ActiveDestination {
        ActiveDestination(id: "dest-1", plan: try ActivationPlan(
            objectType: .contact,
            mappings: [
                try Mapping(source: "identityMap:crmID", target: "identity:SalesforceId"),
                try Mapping(source: "xdm:person.name.lastName", target: "attribute:LastName"),
            ],
            audiences: [try AudienceSchedule(segmentId: "seg-gold", mappingId: "crm_1_seg")],
            fields: [SalesforceField(name: "LastName", type: "string", length: 80, updateable: true, nillable: false, custom: false)]
        ))
    }

    /// A profile in the audience `seg-gold` (a destination receives only its audiences' members).
    static func profile(_ id: String, lastName: String) -> Profile {
        Profile(
            identities: ["crmID": [id]], attributes: ["person.name.lastName": .string(lastName)],
            memberships: ["seg-gold": AudienceMembership(status: .realized, lastQualificationTime: Timestamp.parseMilliseconds("2026-11-20T10:00:00Z")!)]
        )
    }

    @Test(arguments: Backend.withQueues)
    func anAnswerAfterTheLeaseWasTakenOverChangesNothing(_ backend: Backend) async throws {
        try await backend.withQueueStore { store in
            let destination = try Self.destination()
            _ = try await store.ingest(Self.ids.map { Self.profile($0, lastName: "A") }, into: [destination], at: Self.t0)

            // The first sender claims both records, and stalls past its 30 s lease.
            let first = try await store.claim(destinationId: "dest-1", limit: 10, lease: 30, now: Self.t0)
            try #require(first.map(\.recordId).sorted() == Self.ids)
            #expect(Set(first.map(\.claim)).count == 1, "one token for the whole claim")
            let stale = first[0].claim

            // A second sender takes them over under a new token and a newer change arrives meanwhile.
            let second = try await store.claim(destinationId: "dest-1", limit: 10, lease: 30, now: Self.t0.addingTimeInterval(31))
            #expect(second.map(\.recordId).sorted() == Self.ids)
            let token = try #require(second.first?.claim)
            #expect(token != stale)
            _ = try await store.ingest([Self.profile(Self.ids[0], lastName: "B")], into: [destination], at: Self.t0.addingTimeInterval(32))

            // The stalled sender wakes and reports a permanent failure: fenced, nothing applied, and
            // it cannot renew a lease it lost.
            let late = try await store.complete(
                destinationId: "dest-1", claim: stale, results: Dictionary(uniqueKeysWithValues: Self.ids.map { ($0, DeliveryResult.failed(code: "INVALID_FIELD", message: "late", fields: [])) }),
                now: Self.t0.addingTimeInterval(33)
            )
            #expect(late.applied == 0)
            #expect(late.fenced == Self.ids)
            #expect(try await store.renew(destinationId: "dest-1", claim: stale, lease: 30, now: Self.t0.addingTimeInterval(33)) == 0)

            // The owner renews, so the records are not taken again when the first lease would end.
            #expect(try await store.renew(destinationId: "dest-1", claim: token, lease: 30, now: Self.t0.addingTimeInterval(50)) == 2)
            #expect(try await store.claim(destinationId: "dest-1", limit: 10, lease: 30, now: Self.t0.addingTimeInterval(65)).isEmpty)

            // The owner's answers apply; the newer change is then due, and nothing failed.
            let owned = try await store.complete(
                destinationId: "dest-1", claim: token, results: Dictionary(uniqueKeysWithValues: Self.ids.map { ($0, DeliveryResult.acknowledged) }),
                now: Self.t0.addingTimeInterval(66)
            )
            #expect(owned.applied == 2 && owned.fenced.isEmpty)
            let next = try await store.claim(destinationId: "dest-1", limit: 10, lease: 30, now: Self.t0.addingTimeInterval(66))
            #expect(next.map(\.recordId) == [Self.ids[0]])
            #expect(next.first?.fields == ["LastName": .string("B")])
            #expect(next.first?.attempts == 0)
        }
    }

    @Test(arguments: Backend.withQueues)
    func completingAndClaimingTheNextBatchIsOneStepFencedByTheClaim(_ backend: Backend) async throws {
        try await backend.withQueueStore { store in
            let destination = try Self.destination()
            _ = try await store.ingest(Self.ids.map { Self.profile($0, lastName: "A") }, into: [destination], at: Self.t0)
            let first = try await store.claim(destinationId: "dest-1", limit: 1, lease: 30, now: Self.t0)
            try #require(first.count == 1)
            let completion = try await store.complete(
                destinationId: "dest-1", claim: first[0].claim, results: [first[0].recordId: .acknowledged], now: Self.t0,
                thenClaim: 5, lease: 30, partialAfter: 0
            )
            #expect(completion.applied == 1)
            #expect(completion.next.count == 1)
            #expect(completion.next.first?.recordId != first[0].recordId)
            #expect(completion.next.first?.claim != first[0].claim, "each claim gets its own token")
        }
    }
}
