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
