import Activation
import Foundation
import Logging
import ServiceLifecycle
import Store
import Testing
@testable import Ingest

@Suite("Group commit")
struct IngestPipelineTests {
    @Test func concurrentSubmissionsAreAllDurableWhenAnswered() async throws {
        // setup
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-ingest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("db.sqlite").path
        let store = try SQLiteStore(path: path, secrets: try SecretBox(base64Key: SecretBox.generateKey()))
        let pipeline = IngestPipeline(store: store, logger: Logger(label: "test"))
        let group = ServiceGroup(services: [pipeline], logger: Logger(label: "test"))

        // run
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await withThrowingTaskGroup(of: Int.self) { submits in
                for index in 0..<100 {
                    submits.addTask {
                        let profile = Profile(identities: ["crmID": ["id-\(index)"]], attributes: ["n": .integer(Int64(index))])
                        return try await pipeline.submit([profile, Profile(identities: ["email": ["p\(index)@x.org"]])])
                    }
                }
                var accepted = 0
                for try await count in submits { accepted += count }
                #expect(accepted == 200)
            }
            // validate: a second store on the same file sees every profile once answered
            let reader = try SQLiteStore(path: path, secrets: try SecretBox(base64Key: SecretBox.generateKey()))
            #expect(try await reader.profileCount() == 200)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        // after shutdown, submissions are refused rather than lost
        await #expect(throws: IngestPipeline.Stopped.self) {
            try await pipeline.submit([Profile(identities: ["crmID": ["late"]])])
        }
    }
}

@Suite("Backfills survive a restart")
struct BackfillResumeTests {
    @Test func aBackfillInterruptedByACrashGoesOnAtTheNextStart() async throws {
        // setup: 5,000 stored profiles and an enabled destination whose backfill got one page in
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-backfill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = SecretBox.generateKey()
        let path = directory.appendingPathComponent("db.sqlite").path
        let store = try SQLiteStore(path: path, secrets: try SecretBox(base64Key: key))
        let ids = (0..<5_000).map { index -> String in
            let base = "003xx00000" + String(format: "%05d", index)
            return (try? SalesforceRecordID(base))?.value ?? base
        }
        let profiles = ids.map { id in
            Profile(identities: ["crmID": [id]], attributes: ["person.name.lastName": .string("L")],
                    memberships: ["seg": AudienceMembership(status: .realized, lastQualificationTime: 1_795_168_800_000)])
        }
        _ = try await store.ingest(profiles, into: [], at: Date())
        let now = Date()
        try await store.saveConnection(Connection(id: "c", name: "c", loginKind: .loginUrl, loginValue: "http://127.0.0.1:1", apiVersion: "v66.0", authType: .clientCredentials, username: nil, clientId: "x", secrets: ConnectionSecrets(clientSecret: "s"), status: .connected, instanceUrl: nil, createdAt: now, updatedAt: now))
        try await store.saveDestination(Destination(
            id: "d", name: "d", description: "", connectionId: "c", objectType: .contact, status: .enabled,
            mappings: [MappingSetting(source: "identityMap:crmID", target: "identity:SalesforceId"), MappingSetting(source: "xdm:person.name.lastName", target: "attribute:LastName")],
            segments: [SegmentSetting(segmentId: "seg", mappingId: "crm_1_seg")], createdAt: now, updatedAt: now
        ))
        let plan = try #require(try await store.destination(id: "d")).activationPlan()
        try await store.startBackfill(destinationId: "d")
        let page = try await store.backfill(ActiveDestination(id: "d", plan: plan), after: 0, limit: 2_000, at: now)
        #expect(try await store.runningBackfills() == ["d": try #require(page.nextAfter)])

        // run: the process "crashed"; a new pipeline on the same file starts
        let restarted = try SQLiteStore(path: path, secrets: try SecretBox(base64Key: key))
        let pipeline = IngestPipeline(store: restarted, logger: Logger(label: "test"))
        let group = ServiceGroup(services: [pipeline], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var remaining: [String: Int64] = ["d": 0]
            for _ in 0..<500 where !remaining.isEmpty {
                try await Task.sleep(for: .milliseconds(10))
                remaining = try await restarted.runningBackfills()
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            // validate: the backfill finished, and every stored profile was queued exactly once
            #expect(remaining.isEmpty)
        }
        let backlog = try await restarted.backlog(destinationId: "d")
        #expect(backlog.pending == 5_000)
        // Counted once each, across the hourly windows the test spans (one ran across 18:00 UTC).
        let runs = try await restarted.runs(destinationId: "d", limit: 10)
        #expect(runs.reduce(0) { $0 + $1.received } == 5_000)
    }
}
