import Foundation
import SfdestClient
import Testing

/// Labels in the web UI: the labels page (set and removed by an admin key only), the labels beside
/// a destination's sources, violations on the review, a destination paused by a policy.
@Suite("Web UI: data usage labels")
struct WebUIGovernanceTests {
    @Test func anAdminSetsALabelTheMappingPageMarksItAndTheReviewAndDestinationShowTheViolation() async throws {
        try await ServerHarness.run { harness in
            let id = try await GovernanceTests.draft(harness)
            let browser = FormClient(baseURL: harness.service.baseURL)
            try await browser.login(ServerHarness.apiKey)
            let empty = try await browser.get("/ui/labels")
            #expect(empty.status == 200)
            #expect(empty.body.contains("id=\"no-labels\""))
            let token = try #require(empty.hidden("csrf"))

            // A refused label says why, on the page; a good one is saved through the API.
            let wrong = try await browser.post("/ui/labels", [("csrf", token), ("source", "personalEmail"), ("labels", "C2")])
            #expect(wrong.status == 422)
            #expect(wrong.body.contains("must start with identityMap: or xdm:"))
            let saved = try await browser.post("/ui/labels", [("csrf", token), ("source", "xdm:personalEmail.address"), ("labels", "C2"), ("labels", "S2")])
            #expect(saved.status == 303)
            #expect(try await harness.api.expect(200, .GET, "/v1/labels").array.first?["labels"] as? [String] == ["C2", "S2"])
            let listed = try await browser.get("/ui/labels")
            #expect(listed.body.contains("<code>xdm:personalEmail.address</code>"))
            #expect(listed.body.contains("Labels saved."))

            // The mapping page marks the label a policy forbids for this destination.
            let mapping = try await browser.get("/ui/destinations/\(id)/mapping")
            #expect(mapping.body.contains("id=\"labels-panel\""))
            #expect(mapping.body.contains("cannot be mapped here"))
            #expect(mapping.body.contains("exportToThirdParty"))
            // The review lists the violation, with where to fix it, and Enable is off.
            let review = try await browser.get("/ui/destinations/\(id)/review")
            #expect(review.body.contains("noThirdPartyExport"))
            #expect(review.body.contains("/ui/destinations/\(id)/mapping\">Fix in mapping"))
            #expect(review.body.contains("id=\"enable\" disabled"))

            // Off again (Remove): the review is ready; enabled, then labelled again, it shows paused.
            let removed = try await browser.post("/ui/labels/remove", [("csrf", token), ("source", "xdm:personalEmail.address")])
            #expect(removed.status == 303)
            #expect(try await harness.api.expect(200, .GET, "/v1/labels").array.isEmpty)
            #expect(try await browser.get("/ui/destinations/\(id)/review").body.contains("id=\"ready\""))
            try await harness.api.enable(id)
            _ = try await browser.post("/ui/labels", [("csrf", token), ("source", "xdm:person.name"), ("labels", "C12")])
            let after = try await browser.get("/ui/labels")
            #expect(after.body.contains("id=\"paused-by-policy\""))
            #expect(after.body.contains("Paused by a policy: Sales contacts"))
            let destination = try await browser.get("/ui/destinations/\(id)")
            #expect(destination.body.contains("id=\"paused-policy\""))
            #expect(destination.body.contains("noExport"))
        }
    }

    @Test func aKeyWithoutAdminSeesTheLabelsAndCannotChangeThem() async throws {
        try await ServerHarness.run { harness in
            try await harness.api.expect(200, .PUT, "/v1/labels", json: [["source": "identityMap:email", "labels": ["I1"]]])
            let manager = try await harness.createKey(["view-destinations", "manage-destinations", "activate-destinations"], name: "manager").key
            let browser = FormClient(baseURL: harness.service.baseURL)
            try await browser.login(manager)
            let page = try await browser.get("/ui/labels")
            #expect(page.status == 200)
            #expect(page.body.contains("<code>identityMap:email</code>"))
            #expect(!page.body.contains("id=\"label-form\"") && !page.body.contains("/ui/labels/remove"))
            #expect(page.body.contains("Only an admin key changes labels"))
            let token = try #require(page.hidden("csrf"))
            let refused = try await browser.post("/ui/labels/remove", [("csrf", token), ("source", "identityMap:email")])
            #expect(refused.status == 422 || refused.status == 403, "\(refused.status)")
            #expect(refused.body.contains("admin"))
            #expect(try await harness.api.expect(200, .GET, "/v1/labels").array.count == 1)
        }
    }
}
