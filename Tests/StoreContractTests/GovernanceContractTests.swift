import Activation
import Foundation
import Store
import Testing

/// Labels, the policy pause, and a profile's lookup and erasure, the same on every backend.
@Suite("Store contract: labels, policy pauses, profile lookup and erasure")
struct GovernanceContractTests {
    typealias Q = DeliveryQueueContractTests

    static func destination(_ id: String, status: DestinationStatus) -> Destination {
        Destination(
            id: id, name: id, description: "", connectionId: "conn-1", objectType: .contact, status: status,
            mappings: [MappingSetting(source: "identityMap:crmID", target: "identity:SalesforceId")], createdAt: Q.t0, updatedAt: Q.t0
        )
    }

    static func connection() -> Connection {
        Connection(
            id: "conn-1", name: "org", loginKind: .loginUrl, loginValue: "http://127.0.0.1:1", apiVersion: "v66.0", authType: .password,
            username: "u", clientId: "c", secrets: ConnectionSecrets(password: "p"), status: .connected, instanceUrl: nil, createdAt: Q.t0, updatedAt: Q.t0
        )
    }

    @Test(arguments: Backend.available)
    func labelsAreReplacedWholeWithTheDestinationsTheyPauseAndAPausedDestinationIsNeverClaimed(_ backend: Backend) async throws {
        try await backend.withStore { store in
            try await store.saveConnection(Self.connection())
            var paused = Self.destination("dest-1", status: .enabled)
            paused.marketingActions = [.exportToThirdParty, .crossSiteTargeting]
            paused.consentPath = "consents.marketing.val"
            try await store.saveDestination(paused)
            // Saved and read back with its actions and consent attribute.
            #expect(try await store.destination(id: "dest-1")?.marketingActions == [.exportToThirdParty, .crossSiteTargeting])
            #expect(try await store.destination(id: "dest-1")?.consentPath == "consents.marketing.val")

            let planned = try Q.destination()
            _ = try await store.ingest([Q.profile(Q.ids[0], lastName: "A")], into: [planned], at: Q.t0)
            let email = try SourceLabels(source: "xdm:personalEmail.address", labels: ["C2", "c12"])
            let person = try SourceLabels(source: "xdm:person", labels: ["I1"])
            paused.status = .pausedPolicy
            try await store.replaceLabels([email, person], saving: [paused])
            #expect(try await store.labels() == [person, email].sorted { $0.source.text < $1.source.text })
            #expect(try await store.labels().first { $0.source == .attribute(path: "personalEmail.address") }?.labels == [.c2, .c12])
            #expect(try await store.destination(id: "dest-1")?.status == .pausedPolicy)
            // Paused: its queued change stays, and no claim takes it.
            #expect(try await store.backlog(destinationId: "dest-1").pending == 1)
            #expect(try await store.claim(destinationId: "dest-1", limit: 10, lease: 30, now: Q.t0).isEmpty)
            // A paused destination is activated: it cannot be deleted before it is disabled.
            await #expect(throws: StoreConflict.self) { _ = try await store.deleteDestination(id: "dest-1") }

            // Replaced whole: one label left; the destination resumes and its change is claimed.
            paused.status = .enabled
            try await store.replaceLabels([person], saving: [paused])
            #expect(try await store.labels() == [person])
            #expect(try await store.claim(destinationId: "dest-1", limit: 10, lease: 30, now: Q.t0).map(\.recordId) == [Q.ids[0]])
        }
    }

    @Test(arguments: Backend.available)
    func anErasedProfileLeavesNoRowItsCountersFollowAndItsIdentityStartsANewProfile(_ backend: Backend) async throws {
        try await backend.withStore { store in
            let destination = try Q.destination()
            var other = Q.profile(Q.ids[1], lastName: "Other")
            other.identities["email"] = ["shared@example.com"]
            _ = try await store.ingest([Q.profile(Q.ids[0], lastName: "A"), other], into: [destination], at: Q.t0)
            // One acknowledged, then changed again (queued), and its history has entries.
            let claimed = try await store.claim(destinationId: "dest-1", limit: 10, lease: 30, now: Q.t0)
            try await store.complete(destinationId: "dest-1", claim: claimed[0].claim, results: Dictionary(uniqueKeysWithValues: claimed.map { ($0.recordId, .acknowledged) }), now: Q.t0)
            var changed = Q.profile(Q.ids[0], lastName: "B")
            changed.identities["email"] = ["shared@example.com", "ada@example.com"]
            _ = try await store.ingest([changed], into: [destination], at: Q.t0.addingTimeInterval(1))
            #expect(try await store.profileCount() == 2)
            #expect(try await store.backlog(destinationId: "dest-1").pending == 1)
            #expect(try await store.audienceCounts(segmentIds: ["seg-gold"])["seg-gold"]?.realized == 2)

            let found = try #require(try await store.storedProfile(namespace: "email", value: "ada@example.com"))
            #expect(found.profile.attributes["person.name.lastName"] == .string("B"))
            #expect(found.profile.identities["crmID"] == [Q.ids[0]])
            #expect(try await store.storedProfile(namespace: "email", value: "nobody@example.com") == nil)

            #expect(!(try await store.recordHistory(destinationId: "dest-1", recordId: Q.ids[0], limit: 10)).isEmpty)
            let erasure = try #require(try await store.eraseProfile(namespace: "crmID", value: Q.ids[0], destinations: [destination]))
            // crmID and ada@: the shared address was the other profile's first, and stays its link.
            #expect(erasure.identities == 2)
            #expect(erasure.records == 1)
            #expect(erasure.queuedChanges == 1)
            #expect(try await store.storedProfile(namespace: "crmID", value: Q.ids[0]) == nil)
            #expect(try await store.storedProfile(namespace: "email", value: "ada@example.com") == nil)
            #expect(try await store.storedProfile(namespace: "email", value: "shared@example.com")?.profile.identities["crmID"] == [Q.ids[1]])
            #expect(try await store.recordState(destinationId: "dest-1", recordId: Q.ids[0]) == nil)
            #expect(try await store.recordHistory(destinationId: "dest-1", recordId: Q.ids[0], limit: 10).isEmpty)
            #expect(try await store.profileCount() == 1)
            #expect(try await store.backlog(destinationId: "dest-1").pending == 0)
            #expect(try await store.audienceCounts(segmentIds: ["seg-gold"])["seg-gold"]?.realized == 1)
            #expect(try await store.claim(destinationId: "dest-1", limit: 10, lease: 30, now: Q.t0.addingTimeInterval(2)).isEmpty)
            #expect(try await store.eraseProfile(namespace: "crmID", value: Q.ids[0], destinations: [destination]) == nil)

            // The identity comes back: a new profile, sent whole (nothing acknowledged is remembered).
            _ = try await store.ingest([Q.profile(Q.ids[0], lastName: "C")], into: [destination], at: Q.t0.addingTimeInterval(3))
            let again = try #require(try await store.storedProfile(namespace: "crmID", value: Q.ids[0]))
            #expect(again.id != found.id)
            #expect(again.profile.identities["email"] == nil)
            let fresh = try await store.claim(destinationId: "dest-1", limit: 10, lease: 30, now: Q.t0.addingTimeInterval(3))
            #expect(fresh.first?.fields == ["LastName": .string("C"), "crm_1_seg__c": .string("realized")])
        }
    }

    @Test(arguments: Backend.available)
    func aRefusedConsentWithdrawsTheQueuedChangeAndAYesQueuesItAgain(_ backend: Backend) async throws {
        try await backend.withStore { store in
            let destination = try Q.destination()
            _ = try await store.ingest([Q.profile(Q.ids[0], lastName: "A")], into: [destination], at: Q.t0)
            #expect(try await store.backlog(destinationId: "dest-1").pending == 1)
            var refused = Q.profile(Q.ids[0], lastName: "B")
            refused.attributes["consents.share.val"] = .string("n")
            let summary = try await store.ingest([refused], into: [destination], at: Q.t0.addingTimeInterval(1))
            #expect(summary.perDestination["dest-1"]?.excluded == 1)
            // Nothing is left to send, and the run is resolved: the waiting profile counts as excluded.
            #expect(try await store.backlog(destinationId: "dest-1").pending == 0)
            #expect(try await store.claim(destinationId: "dest-1", limit: 10, lease: 30, now: Q.t0.addingTimeInterval(2)).isEmpty)
            let run = try #require(try await store.runs(destinationId: "dest-1", limit: 1).first)
            #expect(run.received == 2 && run.excluded == 2 && run.unresolved == 0, "\(run)")
            #expect(try await store.failures(destinationId: "dest-1").map(\.code) == ["CONSENT_REFUSED"])

            var consents = refused
            consents.attributes["consents.share.val"] = .string("y")
            _ = try await store.ingest([consents], into: [destination], at: Q.t0.addingTimeInterval(3))
            let claimed = try await store.claim(destinationId: "dest-1", limit: 10, lease: 30, now: Q.t0.addingTimeInterval(3))
            #expect(claimed.first?.fields == ["LastName": .string("B"), "crm_1_seg__c": .string("realized")])
            #expect(try await store.failures(destinationId: "dest-1").isEmpty)
        }
    }
}
