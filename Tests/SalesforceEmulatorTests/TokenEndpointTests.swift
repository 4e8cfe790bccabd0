import Foundation
import Testing

@Suite("OAuth token endpoint")
struct TokenEndpointTests {
    @Test("the password grant answers Salesforce's success document")
    func passwordGrant() async throws {
        try await withEmulator { org in
            let before = Int64(Date().timeIntervalSince1970 * 1000)
            let answer = try await org.requestToken(form: org.passwordForm())
            #expect(answer.status == 200)
            let body = answer.object
            let token = try #require(body["access_token"] as? String)
            #expect(token.hasPrefix("00D"))
            #expect(token.contains("!"))
            #expect(token.count > 60)
            #expect(body["instance_url"] as? String == org.baseURL)
            let id = try #require(body["id"] as? String)
            #expect(id.hasPrefix(org.baseURL + "/id/00D"))
            #expect(id.split(separator: "/").last?.hasPrefix("005") == true)
            #expect(body["token_type"] as? String == "Bearer")
            let issuedAt = try #require(Int64(body["issued_at"] as? String ?? ""))
            #expect(issuedAt >= before - 1000)
            let signature = try #require(body["signature"] as? String)
            #expect(Data(base64Encoded: signature)?.count == 32)
            #expect(body["expires_in"] == nil)
            #expect(body["refresh_token"] == nil)
            // A second grant issues a different, unguessable token.
            #expect(try await org.accessToken() != token)
        }
    }

    @Test("the client-credentials grant works with form fields and with HTTP Basic")
    func clientCredentials() async throws {
        try await withEmulator { org in
            let config = org.configuration
            let form = "grant_type=client_credentials&client_id=\(config.clientId)&client_secret=\(config.clientSecret)"
            let viaForm = try await org.requestToken(form: form)
            #expect(viaForm.status == 200)
            #expect((viaForm.object["access_token"] as? String)?.hasPrefix("00D") == true)

            let basic = Data("\(config.clientId):\(config.clientSecret)".utf8).base64EncodedString()
            let viaBasic = try await org.requestToken(
                form: "grant_type=client_credentials", headers: [("Authorization", "Basic \(basic)")]
            )
            #expect(viaBasic.status == 200)
            let token = try #require(viaBasic.object["access_token"] as? String)
            #expect(try await org.rest(.GET, "/limits/", token: token).status == 200)

            let wrong = Data("\(config.clientId):nope".utf8).base64EncodedString()
            let refused = try await org.requestToken(
                form: "grant_type=client_credentials", headers: [("Authorization", "Basic \(wrong)")]
            )
            #expect(refused.object["error"] as? String == "invalid_client")
        }
    }

    @Test("each refusal has Salesforce's error, description and no-store")
    func refusals() async throws {
        try await withEmulator { org in
            let cases: [(form: String, error: String, description: String)] = [
                (org.passwordForm(clientId: "other"), "invalid_client_id", "client identifier invalid"),
                (org.passwordForm(clientSecret: "other"), "invalid_client", "invalid client credentials"),
                (org.passwordForm(password: "emulator-pw"), "invalid_grant", "authentication failure"),
                (org.passwordForm(username: "someone@else"), "invalid_grant", "authentication failure"),
                ("grant_type=authorization_code&code=x", "unsupported_grant_type", "grant type not supported"),
                ("client_id=x", "unsupported_grant_type", "grant type not supported"),
            ]
            for refusal in cases {
                let answer = try await org.requestToken(form: refusal.form)
                #expect(answer.status == 400, "\(refusal.form)")
                #expect(answer.object["error"] as? String == refusal.error, "\(refusal.form)")
                #expect(answer.object["error_description"] as? String == refusal.description, "\(refusal.form)")
                #expect(answer.headers.first(name: "Cache-Control") == "no-store")
            }
        }
    }

    @Test("ipRestricted and passwordFlowDisabled refuse the right credentials")
    func faultRefusals() async throws {
        try await withEmulator { org in
            try await org.setFaults(["ipRestricted": true])
            let restricted = try await org.requestToken(form: org.passwordForm())
            #expect(restricted.status == 400)
            #expect(restricted.object["error"] as? String == "invalid_grant")
            #expect(restricted.object["error_description"] as? String == "ip restricted")

            try await org.setFaults(["ipRestricted": false, "passwordFlowDisabled": true])
            let blocked = try await org.requestToken(form: org.passwordForm())
            #expect(blocked.object["error"] as? String == "invalid_grant")
            #expect(blocked.object["error_description"] as? String == "authentication failure")

            try await org.setFaults(["passwordFlowDisabled": false])
            #expect(try await org.requestToken(form: org.passwordForm()).status == 200)
        }
    }

    @Test("rotating credentials ends sessions and refuses the old secret")
    func credentialRotation() async throws {
        try await withEmulator { org in
            let token = try await org.accessToken()
            let rotated = try await org.admin(.POST, "/credentials", json: ["password": "new-pwTOKEN9", "clientSecret": "s2"])
            #expect(rotated.status == 204)
            #expect(try await org.rest(.GET, "/limits/", token: token).status == 401)
            let oldSecret = try await org.requestToken(form: org.passwordForm(password: "new-pwTOKEN9"))
            #expect(oldSecret.object["error"] as? String == "invalid_client")
            let oldPassword = try await org.requestToken(form: org.passwordForm(clientSecret: "s2"))
            #expect(oldPassword.object["error"] as? String == "invalid_grant")
            let fresh = try await org.requestToken(form: org.passwordForm(clientSecret: "s2", password: "new-pwTOKEN9"))
            #expect(fresh.status == 200)
            #expect(try await org.admin(.POST, "/credentials", json: ["pin": "1"]).status == 400)
        }
    }
}
