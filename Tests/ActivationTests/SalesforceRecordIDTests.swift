import Testing
@testable import Activation

@Suite("SalesforceRecordID")
struct SalesforceRecordIDTests {
    /// The examples from Salesforce's documentation, which carry valid checksums.
    @Test(arguments: ["001xx000003DGb2AAG", "003xx000004TmiQAAS", "001D000000K0fXOIAZ"])
    func documentedExamplesVerify(_ id: String) throws {
        let parsed = try SalesforceRecordID(id)
        #expect(parsed.value == id)
    }

    @Test func fifteenCharacterIdGetsItsChecksum() throws {
        #expect(try SalesforceRecordID("003xx000004TmiQ").value == "003xx000004TmiQAAS")
        #expect(try SalesforceRecordID("001D000000K0fXO").value == "001D000000K0fXOIAZ")
    }

    @Test func fifteenAndEighteenCharacterFormsAreOneRecord() throws {
        let short = try SalesforceRecordID("003xx000004TmiQ")
        let long = try SalesforceRecordID("003xx000004TmiQAAS")
        #expect(short == long)
        #expect(Set([short, long]).count == 1)
        #expect(long.shortForm == "003xx000004TmiQ")
    }

    @Test func checksumIsCaseInsensitive() throws {
        #expect(try SalesforceRecordID("003xx000004TmiQaas").value == "003xx000004TmiQAAS")
    }

    @Test func wrongChecksumIsRefused() {
        #expect(throws: SalesforceRecordID.ParseError.checksumMismatch(expected: "AAS", found: "AAA")) {
            try SalesforceRecordID("003xx000004TmiQAAA")
        }
        // Changing the case of one character changes the record: the old checksum no longer fits.
        #expect(throws: SalesforceRecordID.ParseError.self) {
            try SalesforceRecordID("003XX000004TmiQAAS")
        }
    }

    @Test(arguments: ["", "003", "003xx000004TmiQA", "003xx000004TmiQAASX", "003xx000004TmiQAASXYZ"])
    func wrongLengthsAreRefused(_ id: String) {
        #expect(throws: SalesforceRecordID.ParseError.wrongLength(id.count)) {
            try SalesforceRecordID(id)
        }
    }

    @Test func nonAlphanumericCharactersAreRefused() {
        #expect(throws: SalesforceRecordID.ParseError.invalidCharacter("-")) {
            try SalesforceRecordID("003xx-00004TmiQ")
        }
        #expect(throws: SalesforceRecordID.ParseError.self) {
            try SalesforceRecordID("003xx00000é4Tmi")
        }
    }

    @Test func keyPrefixNamesTheObject() throws {
        #expect(try SalesforceRecordID("003xx000004TmiQAAS").objectType == .contact)
        #expect(try SalesforceRecordID("00Qxx000001abcD").objectType == .lead)
        #expect(try SalesforceRecordID("001xx000003DGb2AAG").objectType == nil)
        #expect(try SalesforceRecordID("001xx000003DGb2AAG").keyPrefix == "001")
    }

    @Test func errorsSayWhatIsWrong() {
        let error = SalesforceRecordID.ParseError.checksumMismatch(expected: "AAS", found: "AAA")
        #expect(error.description.contains("checksum"))
        #expect(SalesforceRecordID.ParseError.wrongLength(3).description.contains("15 or 18"))
    }
}
