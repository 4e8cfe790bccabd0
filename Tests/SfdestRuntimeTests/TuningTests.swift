import Foundation
import SfdestRuntime
import Testing

@Suite("Tuning variables of sfdest serve")
struct TuningTests {
    func settings(_ environment: [String: String]) -> SfdestRuntime.Settings {
        var settings = SfdestRuntime.Settings(dataDirectory: "/unused")
        settings.environment = environment
        return settings
    }

    @Test func defaultsWhenNothingIsSet() throws {
        var settings = self.settings([:])
        try settings.applyTuning()
        #expect(settings.delivery.concurrentRequests == 4)
        #expect(settings.delivery.linger == .milliseconds(250))
        #expect(settings.delivery.lease == 120)
        #expect(settings.delivery.throttlePause == 5)
        #expect(settings.salesforceRequestTimeout == .seconds(30))
    }

    @Test func everyVariableIsRead() throws {
        var settings = self.settings([
            "SFDEST_DELIVERY_REQUESTS": "12", "SFDEST_DELIVERY_LINGER_MS": " 0 ",
            "SFDEST_DELIVERY_LEASE_SECONDS": "300", "SFDEST_SALESFORCE_TIMEOUT_SECONDS": "2.5", "SFDEST_DELIVERY_THROTTLE_SECONDS": "90",
        ])
        try settings.applyTuning()
        #expect(settings.delivery.concurrentRequests == 12)
        #expect(settings.delivery.linger == .zero)
        #expect(settings.delivery.lease == 300)
        #expect(settings.delivery.throttlePause == 90)
        #expect(settings.salesforceRequestTimeout == .milliseconds(2_500))
    }

    @Test(arguments: [
        ("SFDEST_DELIVERY_REQUESTS", "0", "a whole number from 1 to 25"),
        ("SFDEST_DELIVERY_REQUESTS", "26", "a whole number from 1 to 25"),
        ("SFDEST_DELIVERY_REQUESTS", "2.5", "a whole number from 1 to 25"),
        ("SFDEST_DELIVERY_LINGER_MS", "-1", "from 0 to 10000"),
        ("SFDEST_DELIVERY_LINGER_MS", "soon", "from 0 to 10000"),
        ("SFDEST_DELIVERY_LEASE_SECONDS", "0.5", "at least 1"),
        ("SFDEST_DELIVERY_THROTTLE_SECONDS", "0", "from 1 to 3600"),
        ("SFDEST_SALESFORCE_TIMEOUT_SECONDS", "nan", "at least 0.1"),
    ])
    func badValuesAreRefusedWithWhatIsExpected(name: String, value: String, expected: String) {
        var settings = self.settings([name: value])
        #expect {
            try settings.applyTuning()
        } throws: { error in
            let text = (error as? TuningError)?.description ?? ""
            return text.contains(name) && text.contains(expected) && text.contains("\"\(value)\"")
        }
    }
}
