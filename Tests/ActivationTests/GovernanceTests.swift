import Testing
@testable import Activation

/// The core data usage policies and consent, as pure functions of labels, mappings and actions.
@Suite("Governance: labels, policies, consent")
struct GovernanceTests {
    static func labels(_ source: String, _ names: String...) throws -> SourceLabels {
        try SourceLabels(source: source, labels: names)
    }

    /// Which policies block which label for which action: every core policy blocking, and allowing
    /// what it does not name.
    @Test(arguments: [
        // (label, action, policies that block it)
        ("C2", MarketingAction.exportToThirdParty, ["noThirdPartyExport"]),
        ("C2", .crossSiteTargeting, []),
        ("C12", .exportToThirdParty, ["noExport"]),
        ("C12", .crossSiteTargeting, ["noExport"]),
        ("C12", .analytics, ["noExport"]),
        ("C4", .crossSiteTargeting, ["noCrossSiteTargeting"]),
        ("C5", .crossSiteTargeting, ["noCrossSiteTargeting"]),
        ("C4", .exportToThirdParty, []),
        ("C5", .exportToThirdParty, []),
        ("C1", .exportToThirdParty, []),
        ("I1", .exportToThirdParty, []),
        ("S1", .crossSiteTargeting, []),
    ])
    func eachCorePolicyBlocksItsLabelsForItsActionsOnly(_ label: String, _ action: MarketingAction, _ blocking: [String]) throws {
        let violations = Governance.violations(
            mappings: try contactMappings(), actions: [action], labels: [try Self.labels("xdm:personalEmail.address", label)]
        )
        #expect(violations.map(\.policy.id) == blocking)
        for violation in violations {
            #expect(violation.source == "xdm:personalEmail.address")
            #expect(violation.target == "attribute:Email")
            #expect(violation.label.rawValue == label)
            #expect(violation.action == action)
            #expect(violation.mappingIndex == 3)
        }
    }

    @Test func aLabelOnAnObjectPathCoversItsLeavesAndNothingBeside() throws {
        let labels = [try Self.labels("xdm:person.name", "C2"), try Self.labels("xdm:person.nam", "C12")]
        let violations = Governance.violations(mappings: try contactMappings(), actions: MarketingAction.defaults, labels: labels)
        #expect(violations.map(\.source) == ["xdm:person.name.lastName", "xdm:person.name.firstName"])
        #expect(violations.allSatisfy { $0.labelledSource == "xdm:person.name" && $0.policy.id == "noThirdPartyExport" })
        #expect(violations[0].description.contains("labelled on xdm:person.name"))
        #expect(violations[0].description.contains("noThirdPartyExport"))
    }

    @Test func anIdentityLabelReachesTheIdentityMappingAndNotAnAttribute() throws {
        let labels = [try Self.labels("identityMap:crmID", "C2", "C12")]
        let violations = Governance.violations(mappings: try contactMappings(), actions: [.exportToThirdParty, .crossSiteTargeting], labels: labels)
        // C2 for export, C12 for both actions: three, all on the identity mapping.
        #expect(violations.map { "\($0.label.rawValue) \($0.action.rawValue) \($0.policy.id)" } == [
            "C2 exportToThirdParty noThirdPartyExport", "C12 exportToThirdParty noExport", "C12 crossSiteTargeting noExport",
        ])
        #expect(violations.allSatisfy { $0.source == "identityMap:crmID" && $0.target == "identity:SalesforceId" && $0.mappingIndex == 0 })
    }

    @Test func labelsAreReadCaseInsensitivelyOnceEachAndUnknownOnesAreRefusedByIndex() throws {
        #expect(try Self.labels("xdm:a.b", "c2", "C2", "S1").labels == [.c2, .s1])
        do {
            _ = try SourceLabels(source: "person.name", labels: ["C13", "C2", "x"])
            Issue.record("a wrong source and unknown labels were accepted")
        } catch {
            #expect(error.problems.map(\.field) == ["source", "labels[0]", "labels[2]"])
            #expect(error.problems[1].message.contains("C1, C2"))
        }
    }

    @Test func aRefusedConsentExcludesTheProfileWithItsRecordIdAndAYesOrNoValueSendsIt() throws {
        let plan = try ActivationPlan(
            objectType: .contact, mappings: try contactMappings(), audiences: [try AudienceSchedule(segmentId: "seg-gold", mappingId: "crm_1_seg")],
            fields: contactFields
        )
        for refused in ["n", "N", "dn"] {
            guard case .excluded(let exclusion) = plan.evaluate(profile(extra: ["consents.share.val": .string(refused)])) else {
                Issue.record("consent \(refused) was not excluded")
                continue
            }
            #expect(exclusion.code == .consentRefused)
            #expect(exclusion.code.rawValue == "CONSENT_REFUSED")
            #expect(exclusion.recordId == contactId)
            #expect(exclusion.message.contains("consents.share.val"))
        }
        for allowed in ["y", "dy", nil] as [String?] {
            let extra: [String: FieldValue] = allowed.map { ["consents.share.val": .string($0)] } ?? [:]
            guard case .record = plan.evaluate(profile(extra: extra)) else {
                Issue.record("consent \(allowed ?? "absent") did not send the record")
                continue
            }
        }
        // Another consent attribute when the destination names one; none when it names none.
        let other = try ActivationPlan(objectType: .contact, mappings: try contactMappings(), audiences: [try AudienceSchedule(segmentId: "seg-gold", mappingId: "crm_1_seg")], consentPath: "consents.marketing.val")
        guard case .record = other.evaluate(profile(extra: ["consents.share.val": .string("n")])) else { Issue.record("the default path was read"); return }
        guard case .excluded = other.evaluate(profile(extra: ["consents.marketing.val": .string("n")])) else { Issue.record("the named path was not read"); return }
        let unchecked = try ActivationPlan(objectType: .contact, mappings: try contactMappings(), audiences: [try AudienceSchedule(segmentId: "seg-gold", mappingId: "crm_1_seg")], consentPath: nil)
        guard case .record = unchecked.evaluate(profile(extra: ["consents.share.val": .string("n")])) else { Issue.record("consent was read with no path"); return }
    }
}
