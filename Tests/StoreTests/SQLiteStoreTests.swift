import Activation
import Foundation
import GRDB
import Testing
@testable import Store

/// A fresh SQLite file in a temporary directory per test.
struct TemporaryStore {
    let directory: URL
    let store: SQLiteStore
    let key = SecretBox.generateKey()

    init() throws {
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
        self.store = try SQLiteStore(path: self.directory.appendingPathComponent("sfdest.sqlite").path, secrets: try SecretBox(base64Key: self.key))
    }

    /// The token of the claim holding a record now (nil: not in flight).
    func heldClaim(_ recordId: String, destinationId: String = "dest-1") async throws -> Int64? {
        try await self.store.pool.read { db in
            try Int64.fetchOne(
                db, sql: "SELECT claim_token FROM records WHERE destination_id = ? AND record_id = ?", arguments: [destinationId, recordId]
            )
        }
    }

    /// Completes as the sender holding the answered records would: with the token of their claim.
    @discardableResult
    func complete(destinationId: String, results: [String: DeliveryResult], now: Date) async throws -> Completion {
        let claim = try await self.heldClaim(results.keys.sorted()[0], destinationId: destinationId) ?? 0
        return try await self.store.complete(destinationId: destinationId, claim: claim, results: results, now: now)
    }

    func complete(
        destinationId: String, results: [String: DeliveryResult], now: Date, thenClaim limit: Int, lease: TimeInterval, partialAfter: TimeInterval
    ) async throws -> [ClaimedRecord] {
        let claim = try await self.heldClaim(results.keys.sorted()[0], destinationId: destinationId) ?? 0
        return try await self.store.complete(
            destinationId: destinationId, claim: claim, results: results, now: now, thenClaim: limit, lease: lease, partialAfter: partialAfter
        ).next
    }

    /// Every byte the store wrote to disk.
    func bytesOnDisk() throws -> Data {
        var all = Data()
        for name in try FileManager.default.contentsOfDirectory(atPath: self.directory.path) {
            all += try Data(contentsOf: self.directory.appendingPathComponent(name))
        }
        return all
    }
}

let contact1 = "003xx000004TmiQAAS"
let t0 = Date(timeIntervalSince1970: 1_795_168_800) // 2026-11-20T10:00:00Z

func fragment(_ id: String, lastName: String, status: AudienceStatus = .realized, time: String = "2026-11-20T10:00:00Z") -> Profile {
    Profile(
        identities: ["crmID": [id]],
        attributes: ["person.name.lastName": .string(lastName)],
        memberships: ["seg-gold": AudienceMembership(status: status, lastQualificationTime: Timestamp.parseMilliseconds(time)!)]
    )
}

func contactDestination(id: String = "dest-1") throws -> ActiveDestination {
    ActiveDestination(id: id, plan: try ActivationPlan(
        objectType: .contact,
        mappings: [
            try Mapping(source: "identityMap:crmID", target: "identity:SalesforceId"),
            try Mapping(source: "xdm:person.name.lastName", target: "attribute:LastName"),
        ],
        audiences: [try AudienceSchedule(segmentId: "seg-gold", mappingId: "crm_1_seg")],
        fields: [SalesforceField(name: "LastName", type: "string", length: 80, updateable: true, nillable: false, custom: false)]
    ))
}

@Suite("SQLite store on a real file")
struct SQLiteStoreTests {
    @Test func secretsAreSealedAtRestAndRoundTrip() async throws {
        let temp = try TemporaryStore()
        let secrets = ConnectionSecrets(password: "hunter2-very-secret", securityToken: "TOKENXYZ123", clientSecret: "consumer-secret-4242")
        let connection = Connection(
            id: "c1", name: "Acme", loginKind: .customDomain, loginValue: "acme", apiVersion: "v66.0", authType: .password,
            username: "ops@acme.com", clientId: "3MVG9", secrets: secrets, status: .connected, instanceUrl: "https://acme.my.salesforce.com",
            createdAt: t0, updatedAt: t0
        )
        try await temp.store.saveConnection(connection)
        #expect(try await temp.store.connection(id: "c1") == connection)
        let disk = try temp.bytesOnDisk()
        for secret in secrets.all {
            #expect(disk.range(of: Data(secret.utf8)) == nil, "\(secret) is on disk in plain text")
        }
        // Another master key cannot open them.
        let other = try SQLiteStore(path: temp.directory.appendingPathComponent("sfdest.sqlite").path, secrets: try SecretBox(base64Key: SecretBox.generateKey()))
        await #expect(throws: SecretBoxError.self) { try await other.connection(id: "c1") }
    }

    @Test func aSealedSecretCopiedToAnotherRowDoesNotOpen() async throws {
        let temp = try TemporaryStore()
        func connection(_ id: String, _ password: String) -> Connection {
            Connection(
                id: id, name: id, loginKind: .customDomain, loginValue: "acme", apiVersion: "v66.0", authType: .password,
                username: "ops@acme.com", clientId: "3MVG9", secrets: ConnectionSecrets(password: password, clientSecret: "cs"),
                status: .connected, instanceUrl: nil, createdAt: t0, updatedAt: t0
            )
        }
        try await temp.store.saveConnection(connection("c1", "password-of-c1"))
        try await temp.store.saveConnection(connection("c2", "password-of-c2"))
        // Someone with write access to the file (not the key) moves c1's secrets into c2.
        try await temp.store.pool.write { db in
            try db.execute(sql: "UPDATE connections SET sealed_secrets = (SELECT sealed_secrets FROM connections WHERE id = 'c1') WHERE id = 'c2'")
        }
        await #expect(throws: SecretBoxError.self) { try await temp.store.connection(id: "c2") }
        #expect(try await temp.store.connection(id: "c1")?.secrets.password == "password-of-c1")
        // Or points c1's row at a host of theirs (a Salesforce org of theirs passes the host
        // policy): the secrets no longer open, so they are never sent there.
        try await temp.store.pool.write { db in
            try db.execute(sql: "UPDATE connections SET login_value = 'attacker-org' WHERE id = 'c1'")
        }
        await #expect(throws: SecretBoxError.self) { try await temp.store.connection(id: "c1") }
    }

    @Test func deletingAConnectionErasesItsSealedSecretsFromTheFiles() async throws {
        let temp = try TemporaryStore()
        try await temp.store.saveConnection(Connection(
            id: "c1", name: "A", loginKind: .loginUrl, loginValue: "http://127.0.0.1:1", apiVersion: "v66.0", authType: .clientCredentials,
            username: nil, clientId: "x", secrets: ConnectionSecrets(clientSecret: "erase-me-please"), status: .connected, instanceUrl: nil,
            createdAt: t0, updatedAt: t0
        ))
        let sealed = try await temp.store.pool.read { db in try Data.fetchOne(db, sql: "SELECT sealed_secrets FROM connections WHERE id = 'c1'") }
        let ciphertext = try #require(sealed)
        #expect(try temp.bytesOnDisk().range(of: ciphertext) != nil, "the measure must see the sealed value before the delete")
        #expect(try await temp.store.deleteConnection(id: "c1"))
        #expect(try temp.bytesOnDisk().range(of: ciphertext) == nil, "the deleted connection's sealed secrets are still in the files")
    }

    @Test func webhookURLsAreSealedAndOnlyTheirHostIsReadable() async throws {
        let temp = try TemporaryStore()
        let url = "https://hooks.slack.test/services/T0001/B0001/xoxb-token-in-path"
        try await temp.store.saveAlertSubscription(AlertSubscription(id: "sub1", url: url, secret: "webhook-signing-secret", destinationId: nil, createdAt: t0))
        #expect(try await temp.store.alertSubscriptions().first?.url == url)
        #expect(try await temp.store.alertSubscriptions().first?.displayURL == "https://hooks.slack.test")
        let disk = try temp.bytesOnDisk()
        #expect(disk.range(of: Data("xoxb-token-in-path".utf8)) == nil, "the webhook URL's token is on disk in plain text")
        #expect(disk.range(of: Data("webhook-signing-secret".utf8)) == nil)
        #expect(try await temp.store.deleteAlertSubscription(id: "sub1"))
    }

    @Test func aDestinationIsDeletedWithItsQueueOnlyWhenNotEnabled() async throws {
        let temp = try TemporaryStore()
        try await temp.store.saveConnection(Connection(id: "c1", name: "A", loginKind: .loginUrl, loginValue: "http://127.0.0.1:1", apiVersion: "v66.0", authType: .clientCredentials, username: nil, clientId: "x", secrets: ConnectionSecrets(clientSecret: "s"), status: .connected, instanceUrl: nil, createdAt: t0, updatedAt: t0))
        var destination = Destination(id: "dest-1", name: "D", description: "", connectionId: "c1", objectType: .contact, createdAt: t0, updatedAt: t0)
        destination.status = .enabled
        try await temp.store.saveDestination(destination)
        _ = try await temp.store.ingest([fragment(contact1, lastName: "A")], into: [try contactDestination()], at: t0)
        _ = try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: t0)
        try await temp.complete(destinationId: "dest-1", results: [contact1: .failed(code: "INVALID_FIELD", message: "bad", fields: [])], now: t0)
        await #expect(throws: StoreConflict.self) { try await temp.store.deleteDestination(id: "dest-1") }
        #expect(try await temp.store.failures(destinationId: "dest-1").count == 1)
        destination.status = .disabled
        try await temp.store.saveDestination(destination)
        #expect(try await temp.store.deleteDestination(id: "dest-1"))
        #expect(try await temp.store.destination(id: "dest-1") == nil)
        #expect(try await temp.store.failures(destinationId: "dest-1").isEmpty)
        #expect(try await temp.store.runs(destinationId: "dest-1", limit: 10).isEmpty)
        #expect(try await temp.store.recordState(destinationId: "dest-1", recordId: contact1) == nil)
        #expect(try await temp.store.backlog(destinationId: "dest-1") == Backlog())
        #expect(try await temp.store.deleteDestination(id: "dest-1") == false)
        // The connection is free to go now.
        #expect(try await temp.store.deleteConnection(id: "c1"))
    }

    @Test func aConnectionInUseCannotBeDeleted() async throws {
        let temp = try TemporaryStore()
        try await temp.store.saveConnection(Connection(id: "c1", name: "A", loginKind: .loginUrl, loginValue: "http://127.0.0.1:1", apiVersion: "v66.0", authType: .clientCredentials, username: nil, clientId: "x", secrets: ConnectionSecrets(clientSecret: "s"), status: .connected, instanceUrl: nil, createdAt: t0, updatedAt: t0))
        try await temp.store.saveDestination(Destination(id: "d1", name: "D", description: "", connectionId: "c1", objectType: .contact, createdAt: t0, updatedAt: t0))
        await #expect(throws: StoreConflict.self) { try await temp.store.deleteConnection(id: "c1") }
        #expect(try await temp.store.destination(id: "d1")?.objectType == .contact)
    }

    @Test func ingestQueuesClaimSendsAndAcknowledgementCompletesTheRun() async throws {
        let temp = try TemporaryStore()
        let destination = try contactDestination()
        let summary = try await temp.store.ingest([fragment(contact1, lastName: "Lovelace")], into: [destination], at: t0)
        #expect(summary.perDestination["dest-1"]?.queued == 1)
        #expect(try await temp.store.backlog(destinationId: "dest-1").pending == 1)

        let claimed = try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: t0)
        #expect(claimed.map(\.recordId) == [contact1])
        #expect(claimed.first?.fields == ["LastName": .string("Lovelace"), "crm_1_seg__c": .string("realized")])
        // In flight: never claimed twice.
        #expect(try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: t0).isEmpty)
        #expect(try await temp.store.backlog(destinationId: "dest-1").inFlight == 1)

        try await temp.complete(destinationId: "dest-1", results: [contact1: .acknowledged], now: t0)
        let state = try #require(try await temp.store.recordState(destinationId: "dest-1", recordId: "003xx000004TmiQ"))
        #expect(state.acknowledged == ["LastName": .string("Lovelace"), "crm_1_seg__c": .string("realized")])
        #expect(state.pending.isEmpty)
        let run = try #require(try await temp.store.runs(destinationId: "dest-1", limit: 10).first)
        #expect((run.received, run.activated, run.unchanged, run.excluded, run.failed) == (1, 1, 0, 0, 0))
        #expect(run.unresolved == 0)

        // The same profile again: unchanged, nothing queued.
        let again = try await temp.store.ingest([fragment(contact1, lastName: "Lovelace")], into: [destination], at: t0)
        #expect(again.perDestination["dest-1"]?.unchanged == 1)
        #expect(try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: t0).isEmpty)
        // A partial change: only the changed field is sent.
        _ = try await temp.store.ingest([fragment(contact1, lastName: "Byron")], into: [destination], at: t0)
        #expect(try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: t0).first?.fields == ["LastName": .string("Byron")])
    }

    @Test func fragmentsOfOneIdentityMergeIntoOneProfile() async throws {
        let temp = try TemporaryStore()
        _ = try await temp.store.ingest([fragment(contact1, lastName: "A"), fragment(contact1, lastName: "B")], into: [], at: t0)
        _ = try await temp.store.ingest([fragment(contact1, lastName: "C", status: .exited, time: "2026-11-21T10:00:00Z")], into: [], at: t0)
        #expect(try await temp.store.profileCount() == 1)
        let counts = try await temp.store.audienceCounts(segmentIds: ["seg-gold"])
        #expect(counts["seg-gold"] == { var c = AudienceCounts(); c.exited = 1; return c }())
    }

    @Test func expiredClaimsAreTakenAgain() async throws {
        let temp = try TemporaryStore()
        _ = try await temp.store.ingest([fragment(contact1, lastName: "A")], into: [try contactDestination()], at: t0)
        #expect(try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 30, now: t0).count == 1)
        #expect(try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 30, now: t0.addingTimeInterval(29)).isEmpty)
        let again = try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 30, now: t0.addingTimeInterval(31))
        #expect(again.first?.fields == ["LastName": .string("A"), "crm_1_seg__c": .string("realized")])
    }

    @Test func transientFailuresWaitForTheirRetryTime() async throws {
        let temp = try TemporaryStore()
        _ = try await temp.store.ingest([fragment(contact1, lastName: "A")], into: [try contactDestination()], at: t0)
        _ = try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: t0)
        try await temp.complete(destinationId: "dest-1", results: [contact1: .retry(code: "UNABLE_TO_LOCK_ROW", message: "locked", at: t0.addingTimeInterval(10))], now: t0)
        #expect(try await temp.store.backlog(destinationId: "dest-1").retrying == 1)
        #expect(try await temp.store.nextDue(destinationId: "dest-1") == t0.addingTimeInterval(10))
        #expect(try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: t0.addingTimeInterval(5)).isEmpty)
        let retried = try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: t0.addingTimeInterval(10))
        #expect(retried.first?.attempts == 1)
        #expect(try await temp.store.recordState(destinationId: "dest-1", recordId: contact1)?.attempts == 1)
    }

    @Test func theRetentionWindowCountsOnlyTheWaitsBetweenFailures() async throws {
        let temp = try TemporaryStore()
        _ = try await temp.store.ingest([fragment(contact1, lastName: "A")], into: [try contactDestination()], at: t0)
        _ = try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: t0)
        // A transient failure waits 10 s: 10 s of the window used.
        try await temp.complete(destinationId: "dest-1", results: [contact1: .retry(code: "UNABLE_TO_LOCK_ROW", message: "locked", at: t0.addingTimeInterval(10))], now: t0)
        // Claimed 100 hours later (the destination was paused): the pause adds nothing.
        let late = t0.addingTimeInterval(100 * 3600)
        #expect(try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: late).first?.retentionUsed == 10)
        // A postponement (a paused connection) adds nothing either; a second failure adds its wait.
        try await temp.complete(destinationId: "dest-1", results: [contact1: .postpone(at: late.addingTimeInterval(30))], now: late)
        _ = try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: late.addingTimeInterval(30))
        try await temp.complete(destinationId: "dest-1", results: [contact1: .retry(code: "UNABLE_TO_LOCK_ROW", message: "locked", at: late.addingTimeInterval(50))], now: late.addingTimeInterval(30))
        let again = try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: late.addingTimeInterval(50))
        #expect(again.first?.retentionUsed == 30)
        // Delivered: the next change starts with the whole window.
        try await temp.complete(destinationId: "dest-1", results: [contact1: .acknowledged], now: late.addingTimeInterval(50))
        _ = try await temp.store.ingest([fragment(contact1, lastName: "B")], into: [try contactDestination()], at: late.addingTimeInterval(60))
        #expect(try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: late.addingTimeInterval(60)).first?.retentionUsed == 0)
    }

    @Test func retryExhaustedRecordsCountUntilReplayedHoweverLongAgoTheyFailed() async throws {
        let temp = try TemporaryStore()
        _ = try await temp.store.ingest([fragment(contact1, lastName: "A")], into: [try contactDestination()], at: t0)
        _ = try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: t0)
        try await temp.complete(destinationId: "dest-1", results: [contact1: .failed(code: "RETRY_EXHAUSTED", message: "kept failing", fields: [])], now: t0)
        // Hours and run windows later, the failure still counts (the alert stays open).
        #expect(try await temp.store.failureCount(destinationId: "dest-1", code: "RETRY_EXHAUSTED") == 1)
        #expect(try await temp.store.failureCount(destinationId: "dest-1", code: "OTHER") == 0)
        #expect(try await temp.store.retryFailures(destinationId: "dest-1", codes: ["RETRY_EXHAUSTED"], recordIds: nil, now: t0.addingTimeInterval(7200)) == 1)
        #expect(try await temp.store.failureCount(destinationId: "dest-1", code: "RETRY_EXHAUSTED") == 0)
    }

    @Test func permanentFailuresAreGroupedAndCanBeReplayed() async throws {
        let temp = try TemporaryStore()
        let destination = try contactDestination()
        _ = try await temp.store.ingest([fragment(contact1, lastName: "A")], into: [destination], at: t0)
        _ = try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: t0)
        try await temp.complete(destinationId: "dest-1", results: [contact1: .failed(code: "INVALID_CROSS_REFERENCE_KEY", message: "invalid cross reference id", fields: [])], now: t0)
        let groups = try await temp.store.failures(destinationId: "dest-1")
        #expect(groups.map(\.code) == ["INVALID_CROSS_REFERENCE_KEY"])
        #expect(groups.first?.sampleRecordIds == [contact1])
        #expect(try await temp.store.backlog(destinationId: "dest-1").failed == 1)
        var run = try #require(try await temp.store.runs(destinationId: "dest-1", limit: 1).first)
        #expect((run.received, run.failed) == (1, 1))

        #expect(try await temp.store.retryFailures(destinationId: "dest-1", codes: ["OTHER"], recordIds: nil, now: t0) == 0)
        #expect(try await temp.store.retryFailures(destinationId: "dest-1", codes: nil, recordIds: ["003xx000004TmiQ"], now: t0) == 1)
        let replay = try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: t0)
        #expect(replay.first?.fields == ["LastName": .string("A"), "crm_1_seg__c": .string("realized")])
        try await temp.complete(destinationId: "dest-1", results: [contact1: .acknowledged], now: t0)
        run = try #require(try await temp.store.runs(destinationId: "dest-1", limit: 1).first)
        #expect(run.received == run.activated + run.unchanged + run.excluded + run.failed)
        #expect(try await temp.store.failures(destinationId: "dest-1").isEmpty)
    }

    @Test func exclusionsAreCountedAndListed() async throws {
        let temp = try TemporaryStore()
        let result = try await temp.store.ingest([fragment("00Qxx000001abcDEAQ", lastName: "A"), fragment("garbage", lastName: "B")], into: [try contactDestination()], at: t0)
        #expect(result.perDestination["dest-1"]?.excluded == 2)
        let codes = try await temp.store.failures(destinationId: "dest-1").map(\.code).sorted()
        #expect(codes == ["ID_OF_OTHER_OBJECT", "MALFORMED_ID"])
        #expect(try await temp.store.backlog(destinationId: "dest-1").failed == 0)
    }

    @Test func backfillEvaluatesStoredProfilesInPages() async throws {
        let temp = try TemporaryStore()
        let ids = ["003xx000004TmiQ", "003xx000004TmiR", "003xx000004TmiS"]
        _ = try await temp.store.ingest(ids.map { fragment($0, lastName: "N") }, into: [], at: t0)
        let destination = try contactDestination()
        let first = try await temp.store.backfill(destination, after: 0, limit: 2, at: t0)
        #expect(first.counts.queued == 2)
        let second = try await temp.store.backfill(destination, after: try #require(first.nextAfter), limit: 2, at: t0)
        #expect(second.counts.queued == 1)
        #expect(second.nextAfter == nil)
        #expect(try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: t0).count == 3)
    }

    /// Salesforce acknowledged LastName "A"; then "B" is claimed (in flight, `lease` seconds) and,
    /// while it is, the profile goes back to "A".
    func changeBackWhileInFlight(lease: TimeInterval = 60) async throws -> TemporaryStore {
        let temp = try TemporaryStore()
        let destination = try contactDestination()
        _ = try await temp.store.ingest([fragment(contact1, lastName: "A")], into: [destination], at: t0)
        _ = try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: t0)
        try await temp.complete(destinationId: "dest-1", results: [contact1: .acknowledged], now: t0)
        _ = try await temp.store.ingest([fragment(contact1, lastName: "B")], into: [destination], at: t0)
        #expect(try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: lease, now: t0).first?.fields == ["LastName": .string("B")])
        _ = try await temp.store.ingest([fragment(contact1, lastName: "A")], into: [destination], at: t0)
        return temp
    }

    @Test func aChangeBackAfterASendOfUnknownOutcomeIsStillSent() async throws {
        let temp = try await self.changeBackWhileInFlight()
        // B's answer is lost (timeout): Salesforce may hold B, so A must be sent, not skipped as
        // "already acknowledged".
        try await temp.complete(destinationId: "dest-1", results: [contact1: .retry(code: "REQUEST_TIMEOUT", message: "timeout", at: t0, outcomeUnknown: true)], now: t0)
        #expect(try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: t0).first?.fields == ["LastName": .string("A")])
    }

    @Test func aChangeBackAfterAClaimThatExpiredIsStillSent() async throws {
        // B was claimed by a process that died.
        let temp = try await self.changeBackWhileInFlight(lease: 30)
        let again = try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 30, now: t0.addingTimeInterval(31))
        #expect(again.first?.fields == ["LastName": .string("A")])
    }

    @Test func aKnownRefusalKeepsTheAcknowledgement() async throws {
        let temp = try await self.changeBackWhileInFlight()
        // 503: Salesforce certainly did not apply B, so A is what it holds: nothing to send.
        try await temp.complete(destinationId: "dest-1", results: [contact1: .retry(code: "SERVER_UNAVAILABLE", message: "503", at: t0)], now: t0)
        #expect(try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: t0).isEmpty)
        let run = try #require(try await temp.store.runs(destinationId: "dest-1", limit: 1).first)
        #expect(run.unresolved == 0)
    }

    @Test func historyKeepsTheNewestEntriesOfEachRecord() async throws {
        let temp = try TemporaryStore()
        let destination = try contactDestination()
        // 60 rounds: each is a sent and an acknowledged entry (120 in all).
        for round in 0..<60 {
            _ = try await temp.store.ingest([fragment(contact1, lastName: "Name \(round)")], into: [destination], at: t0)
            #expect(try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: t0).count == 1)
            try await temp.complete(destinationId: "dest-1", results: [contact1: .acknowledged], now: t0)
        }
        let history = try await temp.store.recordHistory(destinationId: "dest-1", recordId: contact1, limit: 1_000)
        #expect(history.count >= SQLiteStore.historyPerRecord)
        #expect(history.count <= SQLiteStore.historyPerRecord + SQLiteStore.historySlack)
        // The newest survive, in order: the last round's send, then its acknowledgement.
        #expect(history.suffix(2).map(\.event) == [.sent, .acknowledged])
        #expect(history[history.count - 2].fields["LastName"] == .string("Name 59"))
        // Another record's history is its own.
        let other = "003xx000004TmiRAAS"
        _ = try await temp.store.ingest([fragment(other, lastName: "Other")], into: [destination], at: t0)
        #expect(try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 60, now: t0).count == 1)
        #expect(try await temp.store.recordHistory(destinationId: "dest-1", recordId: other, limit: 1_000).count == 1)
    }

    @Test func expiredClaimsAreTakenBeforeDueRecordsWithinTheLimit() async throws {
        let temp = try TemporaryStore()
        let destination = try contactDestination()
        let ids = ["003xx000004TmiQAAS", "003xx000004TmiRAAS", "003xx000004TmiSAAS"]
        _ = try await temp.store.ingest([fragment(ids[0], lastName: "A")], into: [destination], at: t0)
        #expect(try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 30, now: t0).map(\.recordId) == [ids[0]])
        _ = try await temp.store.ingest(ids.dropFirst().map { fragment($0, lastName: "B") }, into: [destination], at: t0.addingTimeInterval(1))
        // The claim on the first expired: it comes back first, then as many due records as fit.
        let later = t0.addingTimeInterval(40)
        #expect(try await temp.store.claim(destinationId: "dest-1", limit: 2, lease: 30, now: later).map(\.recordId) == [ids[0], ids[1]])
        #expect(try await temp.store.claim(destinationId: "dest-1", limit: 2, lease: 30, now: later).map(\.recordId) == [ids[2]])
    }

    @Test func completingCanClaimTheNextBatchInTheSameTransaction() async throws {
        let temp = try TemporaryStore()
        let destination = try contactDestination()
        let ids = ["003xx000004TmiQAAS", "003xx000004TmiRAAS", "003xx000004TmiSAAS"]
        _ = try await temp.store.ingest(ids.map { fragment($0, lastName: "A") }, into: [destination], at: t0)
        let first = try await temp.store.claim(destinationId: "dest-1", limit: 2, lease: 60, now: t0)
        #expect(first.map(\.recordId) == Array(ids.prefix(2)))
        let results = Dictionary(uniqueKeysWithValues: first.map { ($0.recordId, DeliveryResult.acknowledged) })
        let next = try await temp.complete(destinationId: "dest-1", results: results, now: t0, thenClaim: 2, lease: 60, partialAfter: 0)
        #expect(next.map(\.recordId) == [ids[2]])
        // The first two were acknowledged; the third is in flight now.
        let backlog = try await temp.store.backlog(destinationId: "dest-1")
        #expect(backlog.pending == 0 && backlog.inFlight == 1)
        // A limit of 0 completes without claiming.
        #expect(try await temp.complete(destinationId: "dest-1", results: [ids[2]: .acknowledged], now: t0, thenClaim: 0, lease: 60, partialAfter: 0).isEmpty)
        #expect(try await temp.store.backlog(destinationId: "dest-1").inFlight == 0)
    }

    @Test func aPartialBatchWaitsForCompanyUntilItsOldestRecordHasWaitedTheLinger() async throws {
        let temp = try TemporaryStore()
        let destination = try contactDestination()
        let ids = ["003xx000004TmiQAAS", "003xx000004TmiRAAS", "003xx000004TmiSAAS"]
        _ = try await temp.store.ingest([fragment(ids[0], lastName: "A")], into: [destination], at: t0)
        // One record due for 50 ms, a linger of 100 ms: not yet.
        #expect(try await temp.store.claim(destinationId: "dest-1", limit: 2, lease: 60, now: t0.addingTimeInterval(0.05), partialAfter: 0.1).isEmpty)
        #expect(try await temp.store.backlog(destinationId: "dest-1").pending == 1)
        // Company arrives: a full batch goes at once.
        _ = try await temp.store.ingest([fragment(ids[1], lastName: "A")], into: [destination], at: t0.addingTimeInterval(0.06))
        let full = try await temp.store.claim(destinationId: "dest-1", limit: 2, lease: 60, now: t0.addingTimeInterval(0.07), partialAfter: 0.1)
        #expect(full.map(\.recordId) == Array(ids.prefix(2)))
        // A lone record goes once it has waited the linger.
        _ = try await temp.store.ingest([fragment(ids[2], lastName: "A")], into: [destination], at: t0.addingTimeInterval(1))
        #expect(try await temp.store.claim(destinationId: "dest-1", limit: 2, lease: 60, now: t0.addingTimeInterval(1.05), partialAfter: 0.1).isEmpty)
        let lone = try await temp.store.claim(destinationId: "dest-1", limit: 2, lease: 60, now: t0.addingTimeInterval(1.1), partialAfter: 0.1)
        #expect(lone.map(\.recordId) == [ids[2]])
    }

    /// The backlog the counters say, and what counting every queued row says.
    func backlogs(_ temp: TemporaryStore) async throws -> (kept: Backlog, scanned: Backlog) {
        let kept = try await temp.store.backlog(destinationId: "dest-1")
        let queue = try DatabaseQueue(path: temp.directory.appendingPathComponent("sfdest.sqlite").path)
        var scanned = try await queue.read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT COALESCE(SUM(in_flight = 0 AND attempts = 0), 0), COALESCE(SUM(in_flight = 1), 0),
                       COALESCE(SUM(in_flight = 0 AND attempts > 0), 0)
                FROM records WHERE destination_id = 'dest-1' AND pending IS NOT NULL
                """)
            var backlog = Backlog()
            backlog.pending = row?[0] ?? 0
            backlog.inFlight = row?[1] ?? 0
            backlog.retrying = row?[2] ?? 0
            return backlog
        }
        try queue.close()
        scanned.failed = kept.failed
        return (kept, scanned)
    }

    @Test func theBacklogCountersFollowEveryChangeOfARecord() async throws {
        let temp = try TemporaryStore()
        let destination = try contactDestination()
        let ids = ["003xx000004TmiQAAS", "003xx000004TmiRAAS", "003xx000004TmiSAAS", "003xx000004TmiTAAS", "003xx000004TmiUAAS"]
        var steps: [(String, Backlog)] = []
        func check(_ step: String) async throws {
            let (kept, scanned) = try await self.backlogs(temp)
            #expect(kept == scanned, "after \(step)")
            steps.append((step, kept))
        }
        _ = try await temp.store.ingest(ids.map { fragment($0, lastName: "A") }, into: [destination], at: t0)
        try await check("ingest")
        let claimed = try await temp.store.claim(destinationId: "dest-1", limit: 4, lease: 30, now: t0)
        try await check("claim")
        let next = try await temp.complete(destinationId: "dest-1", results: [
            claimed[0].recordId: .acknowledged,
            claimed[1].recordId: .retry(code: "UNABLE_TO_LOCK_ROW", message: "locked", at: t0.addingTimeInterval(5)),
            claimed[2].recordId: .failed(code: "INVALID_EMAIL_ADDRESS", message: "bad", fields: ["Email"]),
        ], now: t0, thenClaim: 1, lease: 30, partialAfter: 0)
        try await check("complete and claim")
        #expect(next.count == 1)
        // A change for a delivered record, an unchanged one for a pending record, one for a record in flight.
        _ = try await temp.store.ingest(
            [fragment(claimed[0].recordId, lastName: "B"), fragment(ids[4], lastName: "A"), fragment(claimed[3].recordId, lastName: "C")],
            into: [destination], at: t0.addingTimeInterval(1)
        )
        try await check("ingest again")
        #expect(try await temp.store.retryFailures(destinationId: "dest-1", codes: nil, recordIds: nil, now: t0.addingTimeInterval(2)) == 1)
        try await check("replay")
        // The claims expire and are taken again with everything else due.
        let again = try await temp.store.claim(destinationId: "dest-1", limit: 200, lease: 30, now: t0.addingTimeInterval(60))
        try await check("claim after expiry")
        try await temp.complete(
            destinationId: "dest-1", results: Dictionary(uniqueKeysWithValues: again.map { ($0.recordId, DeliveryResult.acknowledged) }),
            now: t0.addingTimeInterval(61)
        )
        try await check("all acknowledged")
        #expect(steps.last?.1 == Backlog())
        // The counts moved through every category on the way.
        #expect(steps.contains { $0.1.inFlight > 0 } && steps.contains { $0.1.retrying > 0 } && steps.contains { $0.1.pending > 0 })
    }
}
