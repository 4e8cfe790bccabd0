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

    @Test(arguments: Backend.available)
    func anAnswerAfterTheLeaseWasTakenOverChangesNothing(_ backend: Backend) async throws {
        try await backend.withStore { store in
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

    /// Delivery's latency is timed from the acceptance of the newest value sent, not from the first
    /// change of the record, which a later one replaced (after an outage, a record queued long ago
    /// and changed again just before the restore waited only since that change).
    @Test(arguments: Backend.available)
    func aClaimCarriesWhenItsNewestValueWasAcceptedAndAChangeInFlightKeepsItsOwn(_ backend: Backend) async throws {
        try await backend.withStore { store in
            let destination = try Self.destination()
            _ = try await store.ingest([Self.profile(Self.ids[0], lastName: "A")], into: [destination], at: Self.t0)
            _ = try await store.ingest([Self.profile(Self.ids[0], lastName: "B")], into: [destination], at: Self.t0.addingTimeInterval(100))
            // The same values again change nothing, and do not make the change newer.
            _ = try await store.ingest([Self.profile(Self.ids[0], lastName: "B")], into: [destination], at: Self.t0.addingTimeInterval(150))
            let first = try #require(try await store.claim(destinationId: "dest-1", limit: 10, lease: 30, now: Self.t0.addingTimeInterval(200)).first)
            #expect(first.queuedAt == Self.t0)
            #expect(first.acceptedAt == Self.t0.addingTimeInterval(100))
            // A change arriving while that one is in flight: the answer keeps the claim's time; the
            // next claim has the new change's.
            _ = try await store.ingest([Self.profile(Self.ids[0], lastName: "C")], into: [destination], at: Self.t0.addingTimeInterval(210))
            try await store.complete(destinationId: "dest-1", claim: first.claim, results: [first.recordId: .acknowledged], now: Self.t0.addingTimeInterval(220))
            let second = try #require(try await store.claim(destinationId: "dest-1", limit: 10, lease: 30, now: Self.t0.addingTimeInterval(230)).first)
            #expect(second.fields == ["LastName": .string("C")])
            #expect(second.acceptedAt == Self.t0.addingTimeInterval(210))
        }
    }

    @Test(arguments: Backend.available)
    func completingAndClaimingTheNextBatchIsOneStepFencedByTheClaim(_ backend: Backend) async throws {
        try await backend.withStore { store in
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

    @Test(arguments: Backend.available)
    func aChangeIsQueuedClaimedAndAcknowledgedAndAnUnchangedOneIsNot(_ backend: Backend) async throws {
        try await backend.withStore { store in
            let destination = try Self.destination()
            let summary = try await store.ingest([Self.profile(Self.ids[0], lastName: "Lovelace")], into: [destination], at: Self.t0)
            #expect(summary.profiles == 1)
            #expect(summary.perDestination["dest-1"]?.queued == 1)
            let claimed = try await store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: Self.t0)
            #expect(claimed.map(\.fields) == [["LastName": .string("Lovelace"), "crm_1_seg__c": .string("realized")]])
            // In flight: not claimed twice.
            #expect(try await store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: Self.t0).isEmpty)
            try await store.complete(destinationId: "dest-1", claim: claimed[0].claim, results: [Self.ids[0]: .acknowledged], now: Self.t0)
            #expect(try await store.nextDue(destinationId: "dest-1") == nil)

            // The same profile again changes nothing; a new last name is queued, alone.
            let again = try await store.ingest([Self.profile(Self.ids[0], lastName: "Lovelace")], into: [destination], at: Self.t0)
            #expect(again.perDestination["dest-1"]?.unchanged == 1)
            #expect(try await store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: Self.t0).isEmpty)
            _ = try await store.ingest([Self.profile(Self.ids[0], lastName: "Byron")], into: [destination], at: Self.t0)
            #expect(try await store.nextDue(destinationId: "dest-1") == Self.t0)
            #expect(try await store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: Self.t0).first?.fields == ["LastName": .string("Byron")])
        }
    }

    @Test(arguments: Backend.available)
    func fragmentsOfOneIdentityMergeAndATransientFailureWaitsForItsRetryTime(_ backend: Backend) async throws {
        try await backend.withStore { store in
            var destination = try Self.destination()
            destination.plan = try ActivationPlan(
                objectType: .contact,
                mappings: [
                    try Mapping(source: "identityMap:crmID", target: "identity:SalesforceId"),
                    try Mapping(source: "xdm:person.name.lastName", target: "attribute:LastName"),
                    try Mapping(source: "xdm:person.name.firstName", target: "attribute:FirstName"),
                ],
                audiences: [try AudienceSchedule(segmentId: "seg-gold", mappingId: "crm_1_seg")],
                fields: [
                    SalesforceField(name: "LastName", type: "string", length: 80, updateable: true, nillable: false, custom: false),
                    SalesforceField(name: "FirstName", type: "string", length: 40, updateable: true, nillable: true, custom: false),
                ]
            )
            var first = Self.profile(Self.ids[0], lastName: "Hopper")
            first.identities["email"] = ["grace@example.com"]
            // The second fragment carries only the email: it is merged into the same profile.
            let second = Profile(identities: ["email": ["grace@example.com"]], attributes: ["person.name.firstName": .string("Grace")], memberships: [:])
            let summary = try await store.ingest([first, second], into: [destination], at: Self.t0)
            #expect(summary.profiles == 2)
            // One profile, one record, counted once although the batch changed it twice.
            #expect(try await store.profileCount() == 1)
            #expect(try await store.backlog(destinationId: "dest-1").pending == 1)
            let claimed = try await store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: Self.t0)
            #expect(claimed.map(\.fields) == [["LastName": .string("Hopper"), "FirstName": .string("Grace"), "crm_1_seg__c": .string("realized")]])

            try await store.complete(
                destinationId: "dest-1", claim: claimed[0].claim,
                results: [Self.ids[0]: .retry(code: "UNABLE_TO_LOCK_ROW", message: "locked", at: Self.t0.addingTimeInterval(10))], now: Self.t0
            )
            #expect(try await store.nextDue(destinationId: "dest-1") == Self.t0.addingTimeInterval(10))
            #expect(try await store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: Self.t0.addingTimeInterval(5)).isEmpty)
            let retried = try await store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: Self.t0.addingTimeInterval(10))
            #expect(retried.first?.attempts == 1)
            #expect(retried.first?.retentionUsed == 10)
        }
    }

    @Test(arguments: Backend.available)
    func aPartialBatchWaitsForCompanyUntilItsOldestRecordHasWaited(_ backend: Backend) async throws {
        try await backend.withStore { store in
            let destination = try Self.destination()
            _ = try await store.ingest([Self.profile(Self.ids[0], lastName: "A")], into: [destination], at: Self.t0)
            #expect(try await store.claim(destinationId: "dest-1", limit: 2, lease: 60, now: Self.t0.addingTimeInterval(0.05), partialAfter: 0.1).isEmpty)
            let lone = try await store.claim(destinationId: "dest-1", limit: 2, lease: 60, now: Self.t0.addingTimeInterval(0.1), partialAfter: 0.1)
            #expect(lone.map(\.recordId) == [Self.ids[0]])
        }
    }

    /// Senders claiming at once (processes, on PostgreSQL) take disjoint records, and together
    /// every due record, once.
    @Test(arguments: Backend.available)
    func concurrentClaimsTakeDisjointRecords(_ backend: Backend) async throws {
        try await backend.withStore { store in
            let destination = try Self.destination()
            let ids = (0..<40).map { Self.contactId($0) }
            _ = try await store.ingest(ids.map { Self.profile($0, lastName: "Many") }, into: [destination], at: Self.t0)
            let batches = try await withThrowingTaskGroup(of: [ClaimedRecord].self) { group in
                for _ in 0..<8 {
                    group.addTask { try await store.claim(destinationId: "dest-1", limit: 10, lease: 60, now: Self.t0) }
                }
                var all: [[ClaimedRecord]] = []
                for try await batch in group { all.append(batch) }
                return all
            }
            let taken = batches.flatMap { $0.map(\.recordId) }
            #expect(taken.count == 40, "every record claimed once: \(batches.map(\.count))")
            #expect(Set(taken) == Set(ids))
            #expect(Set(batches.filter { !$0.isEmpty }.map { $0[0].claim }).count == batches.filter { !$0.isEmpty }.count)
        }
    }

    /// Fragments of one person ingested at once (by several processes, on PostgreSQL) end in one
    /// profile holding every fragment's values.
    @Test(arguments: Backend.available)
    func concurrentFragmentsOfOnePersonMergeIntoOneRecord(_ backend: Backend) async throws {
        try await backend.withStore { store in
            var destination = try Self.destination()
            let names = ["FirstName", "Title", "Department", "Email"]
            destination.plan = try ActivationPlan(
                objectType: .contact,
                mappings: [
                    try Mapping(source: "identityMap:crmID", target: "identity:SalesforceId"),
                    try Mapping(source: "xdm:person.name.lastName", target: "attribute:LastName"),
                ] + names.map { try Mapping(source: "xdm:attr.\($0)", target: "attribute:\($0)") },
                audiences: [try AudienceSchedule(segmentId: "seg-gold", mappingId: "crm_1_seg")],
                fields: (["LastName"] + names).map { SalesforceField(name: $0, type: "string", length: 80, updateable: true, nillable: $0 != "LastName", custom: false) }
            )
            let plan = destination
            try await withThrowingTaskGroup(of: Void.self) { group in
                for name in names {
                    group.addTask {
                        var fragment = Self.profile(Self.ids[0], lastName: "Shared")
                        fragment.attributes["attr.\(name)"] = .string("v-\(name)")
                        _ = try await store.ingest([fragment], into: [plan], at: Self.t0)
                    }
                }
                try await group.waitForAll()
            }
            let claimed = try await store.claim(destinationId: "dest-1", limit: 10, lease: 60, now: Self.t0)
            #expect(claimed.count == 1)
            var expected: [String: FieldValue] = ["LastName": .string("Shared"), "crm_1_seg__c": .string("realized")]
            for name in names { expected[name] = .string("v-\(name)") }
            #expect(claimed.first?.fields == expected)
        }
    }

    /// A valid 18-character Contact Id numbered `n`.
    static func contactId(_ n: Int) -> String {
        let base = "003xx00000" + String(format: "%05d", n)
        var suffix = ""
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345")
        for chunk in 0..<3 {
            var bits = 0
            for (index, character) in base.dropFirst(chunk * 5).prefix(5).enumerated() where character.isUppercase {
                bits |= 1 << index
            }
            suffix.append(alphabet[bits])
        }
        return base + suffix
    }
}
