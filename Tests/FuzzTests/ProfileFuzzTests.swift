import Foundation
import Synchronization
import SfdestClient
import Testing

@Suite("Malformed profile bodies")
struct ProfileFuzzTests {
    static let bodies = 10_000
    static let concurrency = 8

    /// What one answer proved.
    struct Outcome: Sendable {
        var status: Int
        var mismatch: String?
        var stored: Int
    }

    @Test func tenThousandGeneratedBodiesGetPreciseAnswersAndTheGoodItemsAmongThemAreDelivered() async throws {
        try await FuzzService.with(contacts: 400) { service in
            // setup
            let destinationId = try await service.createEnabledDestination()
            let generator = ProfileBodyGenerator(seed: 0x5FDE_57F0_22ED, contactIds: service.emulator.seededContactIds)
            let client = service.client

            // run: 8 requests in flight at a time, each body generated from its own index
            var outcomes: [Int: Outcome] = [:]
            try await withThrowingTaskGroup(of: (Int, Outcome).self) { group in
                var next = 0
                func start() {
                    let index = next
                    next += 1
                    group.addTask {
                        let fuzzCase = generator.generate(index)
                        let answer = try await client.send(.POST, "/v1/profiles", body: fuzzCase.body, contentType: fuzzCase.contentType)
                        return (index, Self.check(fuzzCase, answer))
                    }
                }
                while next < Self.concurrency { start() }
                while let (index, outcome) = try await group.next() {
                    outcomes[index] = outcome
                    if next < Self.bodies { start() }
                }
            }

            // validate: every answer as expected, never a 5xx
            let byStatus = Dictionary(grouping: outcomes.values, by: \.status).mapValues(\.count)
            let mismatches = outcomes.sorted { $0.key < $1.key }.compactMap { index, outcome in outcome.mismatch.map { "#\(index): \($0)" } }
            print("fuzz: \(outcomes.count) bodies to POST /v1/profiles, by status: \(byStatus.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
            #expect(outcomes.count == Self.bodies)
            #expect(byStatus.keys.allSatisfy { (400..<500).contains($0) || $0 == 202 })
            #expect(mismatches.isEmpty, "\(mismatches.count) answers differ from the expected, first ones:\n\(mismatches.prefix(20).joined(separator: "\n"))")
            #expect(byStatus[202, default: 0] > 4_000)
            #expect(byStatus[400, default: 0] > 2_000)
            #expect(byStatus[413, default: 0] >= 3)
            try await service.expect(200, .GET, "/health")
            let stored = outcomes.values.reduce(0) { $0 + $1.stored }
            #expect(try await service.store.profileCount() == stored)

            // validate: the good profiles mixed into bad bodies reached Salesforce
            try await service.waitUntilDelivered(destinationId)
            var goodChecked = 0
            for bodyIndex in stride(from: 0, to: Self.bodies, by: generator.goodEvery) where bodyIndex / generator.goodEvery < generator.contactIds.count {
                let contactId = generator.contactIds[bodyIndex / generator.goodEvery]
                let record = try #require(try await service.admin.record(contactId))
                #expect(record["LastName"] as? String == ProfileBodyGenerator.lastName(bodyIndex: bodyIndex), "contact of body \(bodyIndex)")
                #expect(record["FirstName"] as? String == "Fuzz", "contact of body \(bodyIndex)")
                #expect(record["crm_1_seg__c"] as? String == "realized", "contact of body \(bodyIndex)")
                goodChecked += 1
            }
            print("fuzz: \(goodChecked) good profiles mixed into generated bodies, each found in its Salesforce record; \(stored) profiles stored")
            #expect(goodChecked == 400)
            let failures = try await service.expect(200, .GET, "/v1/destinations/\(destinationId)/failures")
            #expect((failures.object["groups"] as? [Any])?.isEmpty == true, "no good profile failed or was excluded: \(failures.text)")
        }
    }

    /// Compares an answer with what the generated case must get.
    static func check(_ fuzzCase: FuzzCase, _ answer: ContractClient.Answer) -> Outcome {
        let label = "\(fuzzCase.label) (\(fuzzCase.body?.count ?? 0) bytes, \(fuzzCase.contentType ?? "no content type"))"
        switch fuzzCase.expectation {
        case .refused(let status, let code):
            guard answer.status == status, answer.errorCode == code, !answer.errorMessage.isEmpty else {
                return Outcome(status: answer.status, mismatch: "\(label): expected \(status) \(code), got \(answer.status) \(answer.text)", stored: 0)
            }
            return Outcome(status: answer.status, mismatch: nil, stored: 0)
        case .itemized(let items):
            let expectedAccepted = items.filter { if case .bad = $0.kind { false } else { true } }.count
            guard answer.status == 202 else {
                return Outcome(status: answer.status, mismatch: "\(label): expected 202, got \(answer.status) \(answer.text)", stored: 0)
            }
            let accepted = answer.object["accepted"] as? Int ?? -1
            let rejected = answer.object["rejected"] as? [[String: Any]] ?? []
            var problems: [String] = []
            if accepted != expectedAccepted { problems.append("accepted \(accepted), expected \(expectedAccepted)") }
            let expectedRejected = items.enumerated().compactMap { index, item -> (Int, String)? in
                if case .bad(let expect) = item.kind { (index, expect) } else { nil }
            }
            let rejectedIndexes = rejected.compactMap { $0["index"] as? Int }
            if rejectedIndexes != expectedRejected.map(\.0) {
                problems.append("rejected \(rejectedIndexes), expected \(expectedRejected.map(\.0))")
            } else {
                for ((index, expect), rejection) in zip(expectedRejected, rejected) {
                    let error = rejection["error"] as? String ?? ""
                    if !error.contains(expect) { problems.append("item \(index): '\(error.prefix(200))' does not say '\(expect)'") }
                }
            }
            return Outcome(
                status: answer.status,
                mismatch: problems.isEmpty ? nil : "\(label): \(problems.joined(separator: "; "))",
                stored: accepted
            )
        }
    }
}
