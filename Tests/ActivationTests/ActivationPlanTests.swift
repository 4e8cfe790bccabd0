import Testing
@testable import Activation

let contactId = "003xx000004TmiQAAS"
let leadId = "00Qxx000001abcDEAQ"

func contactMappings() throws -> [Mapping] {
    [
        try Mapping(source: "identityMap:crmID", target: "identity:SalesforceId"),
        try Mapping(source: "xdm:person.name.lastName", target: "attribute:LastName"),
        try Mapping(source: "xdm:person.name.firstName", target: "attribute:FirstName"),
        try Mapping(source: "xdm:personalEmail.address", target: "attribute:Email"),
    ]
}

let contactFields = [
    SalesforceField(name: "LastName", type: "string", length: 80, updateable: true, nillable: false, custom: false),
    SalesforceField(name: "FirstName", type: "string", length: 40, updateable: true, nillable: true, custom: false),
    SalesforceField(name: "Email", type: "email", length: 80, updateable: true, nillable: true, custom: false),
    SalesforceField(name: "Name", type: "string", length: 121, updateable: false, nillable: true, custom: false),
    SalesforceField(name: "crm_1_seg__c", type: "textarea", length: 32768, updateable: true, nillable: true, custom: true),
    SalesforceField(name: "crm_2_seg__c", type: "textarea", length: 300, updateable: true, nillable: true, custom: true),
    SalesforceField(name: "Short__c", type: "string", length: 20, updateable: true, nillable: true, custom: true),
]

func profile(id: String? = contactId, lastName: String? = "Lovelace", memberships: [String: (AudienceStatus, String)] = ["seg-gold": (.realized, "2026-11-20T10:00:00Z")], extra: [String: FieldValue] = [:]) -> Profile {
    var result = Profile()
    if let id { result.identities["crmID"] = [id] }
    if let lastName { result.attributes["person.name.lastName"] = .string(lastName) }
    result.attributes["person.name.firstName"] = .string("Ada")
    for (key, value) in extra { result.attributes[key] = value }
    for (segment, (status, time)) in memberships {
        result.memberships[segment] = AudienceMembership(status: status, lastQualificationTime: Timestamp.parseMilliseconds(time)!)
    }
    return result
}

@Suite("Record building")
struct ActivationPlanTests {
    func plan(audiences: [AudienceSchedule]? = nil) throws -> ActivationPlan {
        try ActivationPlan(
            objectType: .contact,
            mappings: try contactMappings(),
            audiences: try audiences ?? [
                AudienceSchedule(segmentId: "seg-gold", mappingId: "crm_1_seg"),
                AudienceSchedule(segmentId: "seg-churn", mappingId: "crm_2_seg__c"),
                AudienceSchedule(segmentId: "seg-active", mappingId: "crm_2_seg"),
            ],
            fields: contactFields
        )
    }

    @Test func buildsMappedFieldsAndOwnAudienceField() throws {
        let outcome = try self.plan().evaluate(profile())
        #expect(outcome == .record(DesiredRecord(id: try SalesforceRecordID(contactId), fields: [
            "LastName": .string("Lovelace"), "FirstName": .string("Ada"), "crm_1_seg__c": .string("realized"),
        ])))
    }

    @Test func sharedFieldHoldsSortedLinesOfKnownStatuses() throws {
        let outcome = try self.plan().evaluate(profile(memberships: [
            "seg-gold": (.existing, "2026-11-20T10:00:00Z"),
            "seg-churn": (.exited, "2026-11-20T10:00:00Z"),
            "seg-active": (.realized, "2026-11-21T10:00:00Z"),
        ]))
        guard case .record(let record) = outcome else { Issue.record("expected a record, got \(outcome)"); return }
        #expect(record.fields["crm_2_seg__c"] == .string("seg-active:realized\nseg-churn:exited"))
        #expect(record.fields["crm_1_seg__c"] == .string("existing"))
    }

    @Test func profilesOutsideEveryAudienceAreNotReceived() throws {
        #expect(try self.plan().evaluate(profile(memberships: ["seg-other": (.realized, "2026-11-20T10:00:00Z")])) == .notReceived)
        #expect(try self.plan().evaluate(profile(memberships: [:])) == .notReceived)
    }

    @Test func statusesOutsideTheAudienceDatesAreNotSent() throws {
        let plan = try self.plan(audiences: [
            AudienceSchedule(segmentId: "seg-gold", mappingId: "crm_1_seg", startDate: "2026-11-01", endDate: "2026-11-20"),
        ])
        func status(_ time: String) -> FieldValue? {
            guard case .record(let record) = plan.evaluate(profile(memberships: ["seg-gold": (.realized, time)])) else { return nil }
            return record.fields["crm_1_seg__c"]
        }
        #expect(status("2026-10-31T23:59:59Z") == nil)
        #expect(status("2026-11-01T00:00:00Z") == .string("realized"))
        #expect(status("2026-11-20T23:59:59Z") == .string("realized"))
        #expect(status("2026-11-21T00:00:00Z") == nil)
    }

    @Test func exclusionsHaveTheirOwnCodes() throws {
        let plan = try self.plan()
        func code(_ profile: Profile) -> Exclusion.Code? {
            guard case .excluded(let exclusion) = plan.evaluate(profile) else { return nil }
            return exclusion.code
        }
        #expect(code(profile(id: nil)) == .identityMissing)
        #expect(code(profile(id: "003xx000004TmiQAAA")) == .malformedId)
        #expect(code(profile(id: "not-an-id")) == .malformedId)
        #expect(code(profile(id: leadId)) == .idOfOtherObject)
        #expect(code(profile(lastName: "")) == .requiredValueEmpty)
        #expect(code(profile(lastName: String(repeating: "x", count: 81))) == .valueTooLong)
        #expect(code(profile(lastName: String(repeating: "x", count: 80))) == nil)
    }

    @Test func aNullRequiredValueIsExcludedNotSent() throws {
        var nullName = profile()
        nullName.attributes["person.name.lastName"] = .null
        guard case .excluded(let exclusion) = try self.plan().evaluate(nullName) else { Issue.record("null LastName was not excluded"); return }
        #expect(exclusion.code == .requiredValueEmpty)
        #expect(exclusion.field == "LastName")
        #expect(exclusion.message.contains("LastName"))
    }

    @Test func aValidIdLaterInTheNamespaceIsUsed() throws {
        var twoIds = profile()
        twoIds.identities["crmID"] = ["bogus", "003xx000004TmiQ"]
        guard case .record(let record) = try self.plan().evaluate(twoIds) else { Issue.record("expected a record"); return }
        #expect(record.key == contactId)
    }

    @Test func fifteenAndEighteenCharacterIdsAddressOneRecord() throws {
        let plan = try self.plan()
        #expect(plan.evaluate(profile(id: "003xx000004TmiQ")) == plan.evaluate(profile(id: contactId)))
    }

    @Test func nonTextValuesBecomeTextInTextFields() throws {
        let mappings = try contactMappings() + [try Mapping(source: "xdm:loyalty.points", target: "attribute:Short__c")]
        let plan = try ActivationPlan(objectType: .contact, mappings: mappings, audiences: [try AudienceSchedule(segmentId: "seg-gold", mappingId: "crm_1_seg")], fields: contactFields)
        guard case .record(let record) = plan.evaluate(profile(extra: ["loyalty.points": .integer(1200)])) else { Issue.record("expected a record"); return }
        #expect(record.fields["Short__c"] == .string("1200"))
    }

    @Test func diffSendsOnlyChangedFields() throws {
        let record = DesiredRecord(id: try SalesforceRecordID(contactId), fields: ["LastName": .string("Lovelace"), "FirstName": .string("Ada"), "crm_1_seg__c": .string("realized")])
        #expect(record.changes(since: record.fields).isEmpty)
        #expect(record.changes(since: ["LastName": .string("Lovelace"), "FirstName": .string("Augusta")]) == ["FirstName": .string("Ada"), "crm_1_seg__c": .string("realized")])
        #expect(record.changes(since: [:]) == record.fields)
    }
}

@Suite("Mappings, audiences and preflight")
struct ConfigurationTests {
    @Test func mappingTextFormsParse() throws {
        #expect(try Mapping(source: "identityMap:crmID", target: "identity:SalesforceId") == Mapping(source: .identity(namespace: "crmID"), target: .salesforceId))
        #expect(try Mapping(source: "xdm:b2b.companyName", target: "attribute:Company") == Mapping(source: .attribute(path: "b2b.companyName"), target: .field("Company")))
    }

    @Test func badMappingsListEveryProblem() {
        do {
            _ = try Mapping(source: "person.name", target: "LastName")
            Issue.record("accepted a mapping without prefixes")
        } catch {
            #expect(error.problems.count == 2)
            #expect(error.problems.map(\.field) == ["source", "target"])
        }
        #expect(throws: ConfigurationProblems.self) { try Mapping(source: "xdm:person..name", target: "attribute:LastName") }
        #expect(throws: ConfigurationProblems.self) { try Mapping(source: "xdm:a", target: "attribute:Last Name") }
        #expect(throws: ConfigurationProblems.self) { try Mapping(source: "identityMap:crmID", target: "identity:Email") }
    }

    @Test func mappingIdsNormalizeToTheAPIName() throws {
        #expect(try AudienceSchedule(segmentId: "s", mappingId: "crm_1_seg").fieldName == "crm_1_seg__c")
        #expect(try AudienceSchedule(segmentId: "s", mappingId: "crm_1_seg__c").fieldName == "crm_1_seg__c")
    }

    @Test(arguments: ["crm 1 seg", String(repeating: "a", count: 41), "séance", "1crm", "crm__seg", "crm_", "", "__c"])
    func badMappingIdsAreRefused(_ mappingId: String) {
        #expect(throws: ConfigurationProblems.self) { try AudienceSchedule(segmentId: "s", mappingId: mappingId) }
    }

    @Test func fortyCharactersBeforeTheSuffixAreAllowed() throws {
        #expect(try AudienceSchedule(segmentId: "s", mappingId: String(repeating: "a", count: 40)).fieldName.count == 43)
    }

    @Test func badDatesAreRefused() {
        #expect(throws: ConfigurationProblems.self) { try AudienceSchedule(segmentId: "s", mappingId: "m", startDate: "2026-11-31") }
        #expect(throws: ConfigurationProblems.self) { try AudienceSchedule(segmentId: "s", mappingId: "m", startDate: "2026-11-20T00:00:00Z") }
        #expect(throws: ConfigurationProblems.self) { try AudienceSchedule(segmentId: "s", mappingId: "m", startDate: "2026-11-20", endDate: "2026-11-19") }
    }

    @Test func planListsEveryProblemAtOnce() throws {
        let audiences = try (0..<26).map { try AudienceSchedule(segmentId: "seg-\($0)", mappingId: "field_\($0)") }
        do {
            _ = try ActivationPlan(objectType: .lead, mappings: [try Mapping(source: "xdm:person.name.lastName", target: "attribute:LastName")], audiences: audiences)
            Issue.record("accepted an invalid plan")
        } catch {
            let text = error.description
            #expect(text.contains("identity:SalesforceId"))
            #expect(text.contains("Company"))
            #expect(text.contains("at most 25"))
            #expect(error.problems.count == 3)
        }
    }

    @Test func twentyFiveSharedFieldsAreFine() throws {
        let audiences = try (0..<50).map { try AudienceSchedule(segmentId: "seg-\($0)", mappingId: "field_\($0 % 25)") }
        let plan = try ActivationPlan(objectType: .contact, mappings: try contactMappings(), audiences: audiences)
        #expect(plan.audienceFields.count == 25)
    }

    @Test func preflightAgainstDescribe() throws {
        let mappings = try contactMappings() + [try Mapping(source: "xdm:x", target: "attribute:Name"), try Mapping(source: "xdm:y", target: "attribute:Nope__c")]
        let audiences = [
            try AudienceSchedule(segmentId: "a", mappingId: "crm_1_seg"),
            try AudienceSchedule(segmentId: "b", mappingId: "missing_seg"),
            try AudienceSchedule(segmentId: "c", mappingId: "Short"),
        ]
        let problems = Preflight.problems(objectType: .contact, mappings: mappings, audiences: audiences, orgFields: contactFields).map(\.message)
        #expect(problems.count == 4, "\(problems)")
        #expect(problems.contains { $0.contains("Name is not updateable") })
        #expect(problems.contains { $0.contains("no field Nope__c") })
        #expect(problems.contains { $0.contains("missing_seg__c") && $0.contains("Text Area (Long)") })
        #expect(problems.contains { $0.contains("Short__c is a string field") })
        #expect(Preflight.problems(objectType: .contact, mappings: try contactMappings(), audiences: [audiences[0]], orgFields: contactFields).isEmpty)
    }
}
