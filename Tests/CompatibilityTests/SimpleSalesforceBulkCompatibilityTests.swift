import EmulatorAdminClient
import Foundation
import SalesforceEmulator
import Testing

/// simple-salesforce's Bulk API 2.0 (`sf.bulk2`) and its Collections upsert against the emulator:
/// `scripts/compat/simple_salesforce_check.py --bulk`.
@Suite("simple-salesforce Bulk API 2.0 against the emulator")
struct SimpleSalesforceBulkCompatibilityTests {
    @Test func bulk2UpdateUpsertAndCollectionsUpsert() async throws {
        try await SalesforceEmulator.with(EmulatorConfiguration(port: 0, contacts: 2)) { emulator in
            // setup
            let admin = EmulatorAdminClient(baseURL: emulator.baseURL)
            try await admin.addField(objectType: "Contact", name: "Ext__c", fieldType: "string", length: 40, externalId: true)
            let known = try await admin.createRecords(objectType: "Contact", records: [["LastName": "Known", "Ext__c": "ss-known"]])
            let twins = try await admin.createRecords(objectType: "Contact", records: [
                ["LastName": "Twin A", "Ext__c": "ss-dup"], ["LastName": "Twin B", "Ext__c": "ss-dup"],
            ])
            let ids = emulator.seededContactIds

            // run
            let run = try await SimpleSalesforceCompatibilityTests.runPython(
                script: "scripts/compat/simple_salesforce_check.py",
                arguments: [
                    "--bulk", "--base-url", emulator.baseURL, "--contact-ids", ids.joined(separator: ","),
                    "--external-field", "Ext__c", "--known-key", "ss-known", "--duplicate-key", "ss-dup",
                ]
            )

            // validate: the script's checks passed, and the org holds what it sent
            #expect(run.status == 0, "simple-salesforce bulk check failed:\n\(run.stderr)\n\(run.stdout)")
            let report = try #require(
                try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any],
                "the script printed no JSON report: \(run.stdout) \(run.stderr)"
            )
            #expect(try await admin.record(ids[0])?["Title"] as? String == "Bulk, \"one\"")
            #expect(try await admin.record(ids[1])?["Title"] as? String == "two\nlines")
            let knownRecord = try #require(try await admin.record(known[0]))
            #expect(knownRecord["LastName"] as? String == "Known")
            let collected = try #require(report["createdByCollections"] as? String)
            #expect(try await admin.record(collected)?["LastName"] as? String == "Collected")
            for twin in twins {
                #expect(try await admin.record(twin)?["LastName"] as? String != "Ambiguous")
            }
            let answer = try #require(report["collectionsUpsert"] as? [[String: Any]])
            let message = ((answer.last?["errors"] as? [[String: Any]])?.first?["message"] as? String) ?? ""
            #expect(twins.allSatisfy { message.contains($0) }, "DUPLICATE_EXTERNAL_ID names the matching Ids: \(message)")
            let stats = try await admin.stats()
            #expect(stats.callsByEndpoint["POST /jobs/ingest"] == 2)
            #expect(stats.callsByEndpoint["PUT /jobs/ingest/{id}/batches"] == 2)
            #expect(stats.callsByEndpoint["PATCH /jobs/ingest/{id}"] == 2)
            #expect(stats.callsByEndpoint["PATCH /composite/sobjects/Contact/Ext__c"] == 1)
        }
    }
}
