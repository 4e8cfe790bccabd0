import Foundation
import Testing

@testable import SalesforceAPI

@Suite("Token request form")
struct TokenRequestTests {
    @Test("the password flow appends the security token and percent-encodes every value")
    func passwordForm() throws {
        let form = try OAuthTokenEndpoint.formBody(for: .password(
            username: "ops+sf@acme.com", password: "p&ss=w rd%", securityToken: "TOK/EN+1",
            clientId: "3MVG9.id", clientSecret: "s3cr~t"
        ), loginURL: "https://login.salesforce.com", now: Date())
        #expect(form == "grant_type=password&client_id=3MVG9.id&client_secret=s3cr~t&username=ops%2Bsf%40acme.com&password=p%26ss%3Dw%20rd%25TOK%2FEN%2B1")
    }

    @Test("without a separate security token the password is sent as given")
    func passwordWithoutToken() throws {
        let form = try OAuthTokenEndpoint.formBody(for: .password(
            username: "u", password: "pwTOKEN", securityToken: nil, clientId: "c", clientSecret: "s"
        ), loginURL: "https://login.salesforce.com", now: Date())
        #expect(form.hasSuffix("&password=pwTOKEN"))
    }

    @Test("client credentials send only the client id and secret")
    func clientCredentialsForm() throws {
        let form = try OAuthTokenEndpoint.formBody(
            for: .clientCredentials(clientId: "key", clientSecret: "sec ret"), loginURL: "https://acme.my.salesforce.com", now: Date()
        )
        #expect(form == "grant_type=client_credentials&client_id=key&client_secret=sec%20ret")
    }

    @Test("non-ASCII text is encoded as UTF-8 bytes")
    func unicode() {
        #expect(OAuthTokenEndpoint.formEncode("pässwörd") == "p%C3%A4ssw%C3%B6rd")
    }

    @Test("a session's description never shows the token")
    func sessionDescription() {
        let session = SalesforceSession(
            accessToken: "00Dx0000000BV7z!SECRET", instanceURL: "https://na1.salesforce.com",
            identityURL: "https://login.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P", issuedAt: nil
        )
        #expect(!session.description.contains("SECRET"))
        #expect(!String(reflecting: session).contains("SECRET"))
        var dumped = ""
        dump(session, to: &dumped)
        #expect(!dumped.contains("SECRET"))
        #expect(session.organizationId == "00Dx0000000BV7z")
        #expect(session.userId == "005x00000012Q9P")
    }
}
