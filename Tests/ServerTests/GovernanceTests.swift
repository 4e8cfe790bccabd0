import Foundation
import SfdestClient
import Store
import Testing

/// Data usage labels and policies at activation, consent, and a profile's lookup and erasure,
/// through the API against the emulator.
@Suite("Governance and privacy")
struct GovernanceTests {
    /// The identity, LastName, FirstName and Email mappings.
    static let mappings = ContractClient.mappings(["person.name.firstName": "FirstName", "personalEmail.address": "Email"])

    /// A draft destination with `mappings` and seg-gold in crm_1_seg__c (not enabled).
    static func draft(_ harness: ServerHarness, extra: [String: Any] = [:]) async throws -> String {
        let connectionId = try await harness.createConnection()
        var body: [String: Any] = ["name": "Sales contacts", "connectionId": connectionId, "objectType": "Contact"]
        for (key, value) in extra { body[key] = value }
        let id = try #require(try await harness.api.expect(201, .POST, "/v1/destinations", json: body).object["id"] as? String)
        try await harness.admin.addLongTextAreaFields(["crm_1_seg__c"], to: ["Contact"])
        try await harness.api.configureDestination(id, mappings: Self.mappings, segments: [["segmentId": "seg-gold", "mappingId": "crm_1_seg"]], enable: false)
        return id
    }

    static func profile(_ crmId: String, firstName: String = "Ada", email: String = "ada@example.com", consent: String? = nil) -> [String: Any] {
        var profile = ServerHarness.profile(crmId: crmId)
        profile["person"] = ["name": ["firstName": firstName, "lastName": "Lovelace"]]
        profile["personalEmail"] = ["address": email]
        if let consent { profile["consents"] = ["share": ["val": consent]] }
        return profile
    }

    /// The `policy_violation` details of an error, as objects.
    static func violations(_ answer: ContractClient.Answer) -> [[String: Any]] {
        let details = (answer.object["error"] as? [String: Any])?["details"] as? [[String: Any]] ?? []
        return details.filter { $0["code"] as? String == "policy_violation" }
    }

    @Test func enablingAnExportOfALabelledFieldIsRefusedWithOneExactDetailPerViolation() async throws {
        try await ServerHarness.run { harness in
            let id = try await Self.draft(harness)
            let labels: [[String: Any]] = [
                ["source": "xdm:personalEmail.address", "labels": ["C2"]], ["source": "xdm:person.name", "labels": ["C12", "I1"]],
            ]
            let saved = try await harness.api.expect(200, .PUT, "/v1/labels", json: labels)
            #expect(saved.array.map { $0["source"] as? String } == ["xdm:person.name", "xdm:personalEmail.address"])
            #expect(try await harness.api.expect(200, .GET, "/v1/labels").array.map { $0["labels"] as? [String] } == [["C12", "I1"], ["C2"]])

            let refused = try await harness.api.send(.POST, "/v1/destinations/\(id)/enable")
            #expect(refused.status == 422)
            #expect(refused.errorCode == "validation_failed")
            let found = Self.violations(refused)
            #expect(found.count == 3, "\(refused.text)")
            let email = try #require(found.first { $0["source"] as? String == "xdm:personalEmail.address" })
            #expect(email["policy"] as? String == "noThirdPartyExport")
            #expect(email["label"] as? String == "C2")
            #expect(email["target"] as? String == "attribute:Email")
            #expect(email["destination"] as? String == id)
            #expect(email["field"] as? String == "mappings[3].source")
            #expect((email["message"] as? String)?.contains("remove the mapping") == true)
            // C12 on the object path covers both names; I1 breaks no core policy.
            let names = found.filter { $0["label"] as? String == "C12" }
            #expect(Set(names.compactMap { $0["source"] as? String }) == ["xdm:person.name.lastName", "xdm:person.name.firstName"])
            #expect(names.allSatisfy { $0["policy"] as? String == "noExport" && $0["labelledSource"] as? String == "xdm:person.name" })
            #expect(try await harness.api.expect(200, .GET, "/v1/destinations/\(id)").object["status"] as? String == "draft")
            // The draft shows what enabling would refuse.
            #expect((try await harness.api.expect(200, .GET, "/v1/destinations/\(id)").object["policyViolations"] as? [Any])?.count == 3)

            // Labels of no policy for this destination's action: enabled.
            try await harness.api.expect(200, .PUT, "/v1/labels", json: [["source": "xdm:personalEmail.address", "labels": ["C4", "C5", "S1"]]])
            try await harness.api.enable(id)
            // A new mapping of a C2 source to an enabled destination is refused, and not saved.
            try await harness.api.expect(200, .PUT, "/v1/labels", json: [
                ["source": "xdm:personalEmail.address", "labels": ["C4"]], ["source": "xdm:b2b", "labels": ["C2"]],
            ])
            let mapped = try await harness.api.send(.PUT, "/v1/destinations/\(id)/mappings", json: Self.mappings + [["source": "xdm:b2b.title", "target": "attribute:Title"]])
            #expect(mapped.status == 422)
            #expect(Self.violations(mapped).map { $0["source"] as? String } == ["xdm:b2b.title"])
            let kept = try await harness.api.expect(200, .GET, "/v1/destinations/\(id)").object
            #expect((kept["mappings"] as? [Any])?.count == Self.mappings.count)
            #expect(kept["status"] as? String == "enabled")
            let audit = try await harness.api.expect(200, .GET, "/v1/audit?limit=20").array
            #expect(audit.contains { $0["action"] as? String == "labels.replace" })
        }
    }

    @Test func crossSiteTargetingIsBlockedByC4AndC5OnlyForADestinationThatDoesIt() async throws {
        try await ServerHarness.run { harness in
            let id = try await Self.draft(harness, extra: ["marketingActions": ["exportToThirdParty", "crossSiteTargeting"]])
            let shown = try await harness.api.expect(200, .GET, "/v1/destinations/\(id)").object
            #expect(shown["marketingActions"] as? [String] == ["exportToThirdParty", "crossSiteTargeting"])
            #expect(shown["consentPath"] as? String == "consents.share.val")
            for label in ["C4", "C5"] {
                try await harness.api.expect(200, .PUT, "/v1/labels", json: [["source": "xdm:person.name.firstName", "labels": [label]]])
                let refused = try await harness.api.send(.POST, "/v1/destinations/\(id)/enable")
                #expect(refused.status == 422)
                #expect(Self.violations(refused).map { "\($0["label"] as? String ?? "") \($0["policy"] as? String ?? "") \($0["marketingAction"] as? String ?? "")" }
                    == ["\(label) noCrossSiteTargeting crossSiteTargeting"])
            }
            // A list without exportToThirdParty, or with an unknown action, is refused at creation.
            let connectionId = try #require(shown["connectionId"] as? String)
            let narrow = try await harness.api.send(.POST, "/v1/destinations", json: [
                "name": "x", "connectionId": connectionId, "objectType": "Contact", "marketingActions": ["crossSiteTargeting", "sellData"],
            ])
            #expect(narrow.status == 422)
            #expect(Set(narrow.detailFields) == ["marketingActions", "marketingActions[1]"])
        }
    }

    @Test func wrongLabelsAreRefusedByIndexAndOnlyAnAdminKeyChangesLabels() async throws {
        try await ServerHarness.run { harness in
            // A value of the wrong type is refused as the body is read, before any label is checked.
            let mistyped = try await harness.api.send(.PUT, "/v1/labels", json: [["source": "xdm:a", "labels": ["C2"]], ["source": "xdm:a", "labels": "C2"]])
            #expect(mistyped.status == 422)
            #expect(mistyped.detailFields == ["[1].labels"], "\(mistyped.text)")
            let wrong = try await harness.api.send(.PUT, "/v1/labels", json: [
                ["source": "xdm:personalEmail.address", "labels": ["C2", "C13"]], ["source": "email", "labels": ["C2"]], ["labels": ["C1"]],
            ])
            #expect(wrong.status == 422)
            #expect(wrong.errorCode == "validation_failed")
            #expect(Set(wrong.detailFields) == ["[0].labels[1]", "[1].source", "[2].source"], "\(wrong.text)")
            #expect(try await harness.api.expect(200, .GET, "/v1/labels").array.isEmpty)

            let manager = try await harness.createKey(["manage-destinations", "activate-destinations", "view-destinations"])
            let denied = try await harness.client(key: manager.key).send(.PUT, "/v1/labels", json: [["source": "xdm:a", "labels": []]])
            #expect(denied.status == 403)
            #expect(denied.deniedPermissions == ["admin"])
            try await harness.client(key: manager.key).expect(200, .GET, "/v1/labels")
        }
    }

    @Test func aLabelAddedLaterPausesTheDestinationBeforeItsNextDeliveryAndTakingItOffResumesIt() async throws {
        try await ServerHarness.run(configure: { $0.alerts.evaluationInterval = .milliseconds(100) }) { harness in
            let id = try await Self.draft(harness)
            try await harness.api.enable(id)
            let contact = harness.emulator.seededContactIds[0]
            try await harness.api.postProfiles([Self.profile(contact, firstName: "Ada")])
            try await harness.api.waitUntilDelivered(id, timeout: .seconds(30))
            #expect(try await harness.admin.record(contact)?["FirstName"] as? String == "Ada")
            let before = try await harness.admin.stats()

            let saved = try await harness.api.send(.PUT, "/v1/labels", json: [["source": "xdm:person.name.firstName", "labels": ["C2"]]])
            #expect(saved.status == 200)
            let paused = try await harness.api.expect(200, .GET, "/v1/destinations/\(id)").object
            #expect(paused["status"] as? String == "paused_policy")
            let shown = paused["policyViolations"] as? [[String: Any]] ?? []
            #expect(shown.map { $0["source"] as? String } == ["xdm:person.name.firstName"])

            // The change is accepted and queued; nothing reaches the org.
            try await harness.api.postProfiles([Self.profile(contact, firstName: "Augusta")])
            let deadline = ContinuousClock.now + .seconds(10)
            var alert: [String: Any]?
            while ContinuousClock.now < deadline, alert == nil {
                alert = try await harness.api.expect(200, .GET, "/v1/alerts?destinationId=\(id)&state=open").array.first {
                    ($0["message"] as? String)?.contains("data usage policy") == true
                }
                if alert == nil { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(alert != nil, "no alert says the destination is paused by a policy")
            try await Task.sleep(for: .seconds(1))
            let after = try await harness.admin.stats()
            #expect(after.apiCalls == before.apiCalls, "calls after the label: \(after.callsByEndpoint) (before \(before.callsByEndpoint))")
            #expect(after.recordsWritten == before.recordsWritten)
            #expect(try await harness.admin.record(contact)?["FirstName"] as? String == "Ada")
            let backlog = try await harness.api.expect(200, .GET, "/v1/destinations/\(id)").object["backlog"] as? [String: Int]
            #expect(backlog?["pending"] == 1)
            // Enabling it again while the label is there is refused.
            #expect(try await harness.api.send(.POST, "/v1/destinations/\(id)/enable").status == 422)

            // The label off: enabled again, the queued change delivered.
            try await harness.api.expect(200, .PUT, "/v1/labels", json: [] as [Any])
            #expect(try await harness.api.expect(200, .GET, "/v1/destinations/\(id)").object["status"] as? String == "enabled")
            try await harness.api.waitUntilDelivered(id, timeout: .seconds(30))
            #expect(try await harness.admin.record(contact)?["FirstName"] as? String == "Augusta")
            #expect(harness.logs.all.contains { $0.contains("destination paused: a label breaks a data usage policy") })
        }
    }

    @Test func aRefusedConsentIsExcludedAndListedAndALaterYesSendsTheProfile() async throws {
        try await ServerHarness.run { harness in
            let id = try await Self.draft(harness)
            try await harness.api.enable(id)
            let contact = harness.emulator.seededContactIds[1]
            try await harness.api.postProfiles([Self.profile(contact, firstName: "Refuses", consent: "n")])
            try await harness.api.waitUntilDelivered(id, timeout: .seconds(30))
            #expect(try await harness.admin.record(contact)?["FirstName"] as? String != "Refuses")
            let runs = try await harness.api.expect(200, .GET, "/v1/destinations/\(id)/runs").array
            #expect(runs.first?["identitiesExcluded"] as? Int == 1)
            let failures = try await harness.api.expect(200, .GET, "/v1/destinations/\(id)/failures").text
            #expect(failures.contains("CONSENT_REFUSED") && failures.contains(contact))

            try await harness.api.postProfiles([Self.profile(contact, firstName: "Consents", consent: "y")])
            try await harness.api.waitUntilDelivered(id, timeout: .seconds(30))
            #expect(try await harness.admin.record(contact)?["FirstName"] as? String == "Consents")
            #expect(!(try await harness.api.expect(200, .GET, "/v1/destinations/\(id)/failures").text.contains("CONSENT_REFUSED")))

            // A change still queued (a label holds the destination) when the refusal comes: withdrawn.
            try await harness.api.expect(200, .PUT, "/v1/labels", json: [["source": "xdm:person.name.firstName", "labels": ["C2"]]])
            try await harness.api.postProfiles([Self.profile(contact, firstName: "Queued", consent: "y")])
            #expect((try await harness.api.expect(200, .GET, "/v1/destinations/\(id)").object["backlog"] as? [String: Int])?["pending"] == 1)
            try await harness.api.postProfiles([Self.profile(contact, firstName: "Queued", consent: "n")])
            #expect((try await harness.api.expect(200, .GET, "/v1/destinations/\(id)").object["backlog"] as? [String: Int])?["pending"] == 0)
            let written = try await harness.admin.stats().recordsWritten
            try await harness.api.expect(200, .PUT, "/v1/labels", json: [] as [Any])
            try await harness.api.waitUntilDelivered(id, timeout: .seconds(30))
            #expect(try await harness.admin.stats().recordsWritten == written)
            #expect(try await harness.admin.record(contact)?["FirstName"] as? String == "Consents")
        }
    }

    @Test func aProfileIsLookedUpWithEachDestinationsStateAndErasedWithoutATraceInTheDatabaseFiles() async throws {
        try await ServerHarness.run { harness in
            let id = try await Self.draft(harness)
            try await harness.api.enable(id)
            let contact = harness.emulator.seededContactIds[0]
            let marker = "Zyxwvutsrq-erasable"
            try await harness.api.postProfiles([Self.profile(contact, firstName: marker, email: "\(marker)@example.com")])
            try await harness.api.waitUntilDelivered(id, timeout: .seconds(30))

            let found = try await harness.api.expect(200, .GET, "/v1/profiles/crmID/\(contact)").object
            #expect(found["identities"] as? [String: [String]] == ["crmID": [contact]])
            #expect((found["attributes"] as? [String: Any])?["person.name.firstName"] as? String == marker)
            #expect(((found["memberships"] as? [String: Any])?["seg-gold"] as? [String: Any])?["status"] as? String == "realized")
            let state = try #require((found["destinations"] as? [[String: Any]])?.first)
            #expect(state["id"] as? String == id)
            #expect(state["state"] as? String == "acknowledged")
            #expect(state["recordId"] as? String == contact)
            #expect((state["acknowledged"] as? [String: Any])?["FirstName"] as? String == marker)
            #expect(try await harness.api.send(.GET, "/v1/profiles/crmID/003xx000004TmiZZZZ").errorCode == "profile_not_found")
            #expect(try await harness.api.send(.GET, "/v1/profiles/crm-ID/x").status == 400)

            // Permissions: looking up needs view-profiles; erasing, manage-destinations too.
            let viewer = try await harness.createKey(["view-destinations"])
            #expect(try await harness.client(key: viewer.key).send(.GET, "/v1/profiles/crmID/\(contact)").deniedPermissions == ["view-profiles"])
            let profiles = try await harness.createKey(["view-profiles"])
            try await harness.client(key: profiles.key).expect(200, .GET, "/v1/profiles/crmID/\(contact)")
            let deniedErase = try await harness.client(key: profiles.key).send(.DELETE, "/v1/profiles/crmID/\(contact)")
            #expect(deniedErase.status == 403 && deniedErase.deniedPermissions == ["manage-destinations"])

            // A change queued but not sent (a label pauses the destination), then the erasure.
            try await harness.api.expect(200, .PUT, "/v1/labels", json: [["source": "xdm:person.name.firstName", "labels": ["C2"]]])
            try await harness.api.postProfiles([Self.profile(contact, firstName: "\(marker)-changed", email: "\(marker)@example.com")])
            #expect((try await harness.api.expect(200, .GET, "/v1/destinations/\(id)").object["backlog"] as? [String: Int])?["pending"] == 1)
            #expect(try Self.filesContain(marker, in: harness.directory), "the marker is in the database files before the erasure")
            let erased = try await harness.api.expect(200, .DELETE, "/v1/profiles/crmID/\(contact)").object
            #expect(erased["erased"] as? Bool == true)
            #expect(erased["identities"] as? Int == 1)
            #expect(erased["records"] as? Int == 1)
            #expect(erased["queuedChanges"] as? Int == 1)
            #expect((erased["salesforce"] as? String)?.contains("not touched") == true)
            #expect(try await harness.api.send(.GET, "/v1/profiles/crmID/\(contact)").status == 404)
            #expect(try await harness.api.send(.DELETE, "/v1/profiles/crmID/\(contact)").status == 404)
            #expect((try await harness.api.expect(200, .GET, "/v1/destinations/\(id)").object["backlog"] as? [String: Int])?["pending"] == 0)
            #expect(try await harness.api.send(.GET, "/v1/destinations/\(id)/records/\(contact)").status == 404)
            #expect(!(try Self.filesContain(marker, in: harness.directory)), "the erased profile's values are still in the database files")
            #expect(!(try Self.filesContain(contact, in: harness.directory)), "the erased profile's Id is still in the database files")
            // The audit log has the erasure, by the identity's hash only.
            let entry = try #require(try await harness.api.expect(200, .GET, "/v1/audit?limit=1").array.first)
            #expect(entry["action"] as? String == "profile.erase")
            #expect(((entry["before"] as? [String: Any])?["identityHash"] as? String)?.count == 64)
            // Salesforce keeps its record: the erasure does not touch the org.
            #expect(try await harness.admin.record(contact)?["FirstName"] as? String == marker)

            // A later fragment of the identity starts a new profile, with nothing of the old one.
            try await harness.api.postProfiles([ServerHarness.profile(crmId: contact, lastName: "Byron")])
            let fresh = try await harness.api.expect(200, .GET, "/v1/profiles/crmID/\(contact)").object
            #expect(fresh["identities"] as? [String: [String]] == ["crmID": [contact]])
            #expect((fresh["attributes"] as? [String: Any])?["personalEmail.address"] == nil)
        }
    }

    /// Whether any file of the data directory (the database, its WAL) holds `text`.
    static func filesContain(_ text: String, in directory: URL) throws -> Bool {
        let needle = Data(text.utf8)
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) {
            let url = directory.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            if try Data(contentsOf: url).range(of: needle) != nil { return true }
        }
        return false
    }
}
