import Foundation
import Testing
@testable import Activation

@Suite("Upsert plans: records keyed by an external Id value")
struct UpsertPlanTests {
    func upsertMappings(source: String = "identityMap:email") throws -> [Mapping] {
        [
            try Mapping(source: source, target: "identity:ExternalId:Sfdest_Key__c"),
            try Mapping(source: "xdm:person.name.lastName", target: "attribute:LastName"),
        ]
    }

    func plan(source: String = "identityMap:email") throws -> ActivationPlan {
        try ActivationPlan(
            objectType: .contact, operation: .upsert, mappings: try self.upsertMappings(source: source),
            audiences: [try AudienceSchedule(segmentId: "seg-gold", mappingId: "crm_1_seg")]
        )
    }

    @Test func theTargetParsesAndPrintsBack() throws {
        let mapping = try Mapping(source: "identityMap:email", target: "identity:ExternalId:Sfdest_Key__c")
        #expect(mapping.target == .externalId("Sfdest_Key__c"))
        #expect(mapping.target.text == "identity:ExternalId:Sfdest_Key__c")
        #expect(throws: ConfigurationProblems.self) { try Mapping(source: "identityMap:email", target: "identity:ExternalId:bad name") }
        #expect(throws: ConfigurationProblems.self) { try Mapping(source: "identityMap:email", target: "identity:Email") }
    }

    @Test func theKeyIsTheSourcesValueAndNoSalesforceIdIsNeeded() throws {
        var person = profile(id: nil)
        person.identities["email"] = ["ada@example.com", "other@example.com"]
        guard case .record(let record) = try self.plan().evaluate(person) else { Issue.record("expected a record"); return }
        #expect(record.key == "ada@example.com")
        #expect(record.fields == ["LastName": .string("Lovelace"), "crm_1_seg__c": .string("realized")])
        #expect(try self.plan().externalIdField == "Sfdest_Key__c")
        #expect(try self.plan().identityNamespace == nil)
    }

    @Test func anAttributeCanBeTheKey() throws {
        let person = profile(id: nil, extra: ["loyalty.number": .integer(4711)])
        guard case .record(let record) = try self.plan(source: "xdm:loyalty.number").evaluate(person) else { Issue.record("expected a record"); return }
        #expect(record.key == "4711")
    }

    @Test func aProfileWithoutTheKeyOrACreateFieldIsExcluded() throws {
        guard case .excluded(let noKey) = try self.plan().evaluate(profile(id: nil)) else { Issue.record("expected an exclusion"); return }
        #expect(noKey.code == .identityMissing)
        #expect(noKey.message == "the profile has no identityMap:email value to match a Contact by Sfdest_Key__c")
        var nameless = profile(id: nil, lastName: nil)
        nameless.identities["email"] = ["ada@example.com"]
        guard case .excluded(let missing) = try self.plan().evaluate(nameless) else { Issue.record("expected an exclusion"); return }
        #expect(missing.code == .requiredValueMissing)
        #expect(missing.field == "LastName")
        #expect(missing.recordId == "ada@example.com")
        // An update plan does not need the value: it changes what the record already has.
        guard case .record = try ActivationPlan(
            objectType: .contact, mappings: try contactMappings(), audiences: [try AudienceSchedule(segmentId: "seg-gold", mappingId: "crm_1_seg")]
        ).evaluate(profile(lastName: nil)) else { Issue.record("expected a record"); return }
    }

    @Test func eachOperationRefusesTheOthersIdentity() throws {
        let audiences = [try AudienceSchedule(segmentId: "seg-gold", mappingId: "crm_1_seg")]
        #expect {
            try ActivationPlan(objectType: .contact, operation: .upsert, mappings: try contactMappings(), audiences: audiences)
        } throws: { error in
            let messages = (error as? ConfigurationProblems)?.problems.map(\.message) ?? []
            return messages.contains { $0.contains("an upsert destination matches records by identity:ExternalId") }
                && messages.contains { $0.contains("an upsert destination needs one mapping to identity:ExternalId") }
        }
        #expect {
            try ActivationPlan(objectType: .contact, operation: .update, mappings: try self.upsertMappings(), audiences: audiences)
        } throws: { error in
            (error as? ConfigurationProblems)?.problems.contains { $0.message.contains("needs \"operation\": \"upsert\"") } == true
        }
    }

    @Test func preflightWantsAnExternalIdFieldThatIsWritable() throws {
        let audiences = [try AudienceSchedule(segmentId: "seg-gold", mappingId: "crm_1_seg")]
        func problems(_ key: SalesforceField?) throws -> [String] {
            Preflight.problems(
                objectType: .contact, operation: .upsert, mappings: try self.upsertMappings(), audiences: audiences,
                orgFields: contactFields + (key.map { [$0] } ?? [])
            ).map(\.message)
        }
        let good = SalesforceField(name: "Sfdest_Key__c", type: "string", length: 255, updateable: true, nillable: true, custom: true, externalId: true, idLookup: true)
        #expect(try problems(good).isEmpty)
        #expect(try problems(nil) == ["Contact has no field Sfdest_Key__c in this org: create a Text field marked External ID (and Unique) named Sfdest_Key (Setup > Object Manager > Contact > Fields & Relationships)"])
        var plain = good
        plain.externalId = false
        plain.idLookup = false
        #expect(try problems(plain).first?.hasPrefix("Contact.Sfdest_Key__c is not an External ID field") == true)
        var readOnly = good
        readOnly.updateable = false
        #expect(try problems(readOnly).first?.contains("is not writable by the integration user") == true)
    }

    @Test func storedFieldsWithoutTheNewFlagsStillDecode() throws {
        let old = #"{"name":"LastName","type":"string","length":80,"updateable":true,"nillable":false,"custom":false}"#
        let field = try JSONDecoder().decode(SalesforceField.self, from: Data(old.utf8))
        #expect(field.externalId == false && field.idLookup == false && field.length == 80)
    }
}
