import Testing
@testable import SalesforceEmulator

@Suite("Record Ids")
struct RecordIDTests {
    @Test("checksums match Salesforce's documented examples", arguments: [
        "001xx000003DGb2AAG", "003xx000004TmiQAAS", "001D000000K0fXOIAZ",
    ])
    func documentedChecksums(id: String) {
        #expect(RecordID.normalized(String(id.prefix(15))) == id)
        #expect(RecordID.normalized(id) == id)
    }

    @Test("malformed Ids are refused")
    func malformed() {
        #expect(RecordID.normalized("001xx000003DGb2AAA") == nil)
        #expect(RecordID.normalized("001xx000003DGb") == nil)
        #expect(RecordID.normalized("001xx000003DGb-") == nil)
        #expect(RecordID.normalized("") == nil)
    }

    @Test("new Ids carry the key prefix and a valid checksum, and never repeat")
    func newIds() {
        let ids = (1...1000).map { RecordID.make(keyPrefix: "003", instance: "8d", sequence: UInt64(900_000 + $0)) }
        #expect(Set(ids).count == 1000)
        for id in ids {
            #expect(id.count == 18)
            #expect(id.hasPrefix("003"))
            #expect(RecordID.normalized(id) == id)
        }
    }
}

@Suite("Fault dice")
struct FaultDiceTests {
    @Test(arguments: [0.05, 0.15, 0.5])
    func faultsStrikeAtTheirRateAndNeverFarApart(rate: Double) {
        var dice = FaultDice()
        var strikes = 0
        var sinceLast = 0
        var longestGap = 0
        var gaps: Set<Int> = []
        let rolls = 20_000
        for _ in 0..<rolls {
            if dice.roll(rate) {
                strikes += 1
                gaps.insert(sinceLast)
                sinceLast = 0
            } else {
                sinceLast += 1
                longestGap = max(longestGap, sinceLast)
            }
        }
        #expect(abs(Double(strikes) - rate * Double(rolls)) <= 2)
        #expect(longestGap <= Int(2 / rate))
        // Not a fixed pattern: gaps vary.
        #expect(gaps.count >= 2)
    }

    @Test func aRateOfZeroNeverStrikes() {
        var dice = FaultDice()
        #expect((0..<1_000).allSatisfy { _ in !dice.roll(0) })
    }
}
