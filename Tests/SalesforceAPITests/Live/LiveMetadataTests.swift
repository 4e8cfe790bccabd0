import SalesforceAPI
import Testing

@Suite("Live: describe, limits, versions and records against the emulator")
struct LiveMetadataTests {
    @Test("describe is cached per object: the second call sends nothing")
    func describeCached() async throws {
        try await LiveOrg.with { org in
            let client = try org.client()
            let contact = try await client.describe("Contact")
            #expect(contact.name == "Contact")
            let lastName = try #require(contact.field(named: "LastName"))
            #expect(lastName.length == 80)
            #expect(lastName.updateable)
            #expect(!lastName.nillable)
            #expect(lastName.isRequiredOnCreate)
            #expect(contact.field(named: "Name")?.updateable == false)
            let before = try await org.admin.stats()
            #expect(try await client.describe("Contact") == contact)
            #expect(try await org.admin.stats().apiCalls == before.apiCalls)

            // A new field appears only after invalidation.
            try await org.admin.addField(objectType: "Contact", name: "crm_1_seg__c", fieldType: "textarea", length: 32768)
            #expect(try await client.describe("Contact").field(named: "crm_1_seg__c") == nil)
            await client.invalidateDescribe("Contact")
            let field = try #require(try await client.describe("Contact").field(named: "crm_1_seg__c"))
            #expect(field.type == "textarea")
            #expect(field.length == 32768)
            #expect(field.custom)
            #expect(try await org.admin.stats().apiCalls == before.apiCalls + 1)
        }
    }

    @Test("describe of an unknown object is NOT_FOUND, permanent")
    func describeUnknown() async throws {
        try await LiveOrg.with { org in
            let error = await salesforceError { try await org.client().describe("NoSuchObject__c") }
            #expect(error?.httpStatus == 404)
            #expect(error?.disposition == .permanent)
        }
    }

    @Test("versions list v66.0, through the login URL before any token")
    func versions() async throws {
        try await LiveOrg.with { org in
            let client = try org.client()
            let versions = try await client.versions()
            #expect(versions.contains { $0.version == "66.0" && $0.url == "/services/data/v66.0" })
            #expect(try await org.admin.stats().tokenRequests == 0)
        }
    }

    @Test("an older pinned API version works (62.0 given without v)")
    func olderVersion() async throws {
        try await LiveOrg.with { org in
            let client = try org.client(apiVersion: "62.0")
            #expect(client.apiVersion == "v62.0")
            let limits = try await client.limits()
            #expect(limits.dailyApiRequests != nil)
        }
    }

    @Test("a single record reads back its scalar fields")
    func singleRecord() async throws {
        try await LiveOrg.with { org in
            let client = try org.client()
            let id = org.emulator.seededContactIds[0]
            let fields = try await client.record("Contact", id: id)
            #expect(fields["Id"] == .string(id))
            #expect(fields["LastName"]?.stringValue?.isEmpty == false)
            #expect(fields["attributes"] == nil)
            let missing = await salesforceError { try await client.record("Contact", id: TestRecordID.missingContact) }
            #expect(missing?.httpStatus == 404)
            let malformed = await salesforceError { try await client.record("Contact", id: "../limits") }
            #expect(malformed?.code == "MALFORMED_ID")
        }
    }
}
