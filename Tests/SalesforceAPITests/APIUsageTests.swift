import Testing

@testable import SalesforceAPI

@Suite("Sforce-Limit-Info parsing")
struct APIUsageTests {
    @Test("api-usage is read from the header value", arguments: [
        ("api-usage=18/5000", APIUsage(used: 18, max: 5000)),
        ("api-usage=18/5000, per-app-api-usage=17/250(appName=sample)", APIUsage(used: 18, max: 5000)),
        ("per-app-api-usage=17/250(appName=sample), api-usage=25/15000", APIUsage(used: 25, max: 15000)),
        ("  api-usage = 0/100 ", APIUsage(used: 0, max: 100)),
        ("API-Usage=7/9", APIUsage(used: 7, max: 9)),
        ("api-usage=5001/5000", APIUsage(used: 5001, max: 5000)),
    ])
    func parses(header: String, expected: APIUsage) {
        #expect(APIUsage(limitInfo: header) == expected)
    }

    @Test("values without a usable api-usage entry give nil", arguments: [
        "", "per-app-api-usage=17/250(appName=sample)", "api-usage=", "api-usage=18", "api-usage=a/b", "api-usage=-1/5",
        "garbage",
    ])
    func rejects(header: String) {
        #expect(APIUsage(limitInfo: header) == nil)
    }

    @Test("remaining never goes below zero")
    func remaining() {
        #expect(APIUsage(used: 18, max: 5000).remaining == 4982)
        #expect(APIUsage(used: 6000, max: 5000).remaining == 0)
        #expect(APIUsage(used: 18, max: 5000).description == "18/5000")
    }
}
