import Activation
import Foundation
import Testing
@testable import Ingest

@Suite("Profile bodies: object, array, NDJSON")
struct ProfileBodyTests {
    let good = #"{"identityMap": {"crmID": [{"id": "003xx000004TmiQAAS"}]}, "person": {"name": {"lastName": "Lovelace"}}}"#

    @Test func oneObject() throws {
        let body = try ProfileBody(Data(self.good.utf8), ndjson: false)
        #expect(body.profiles.count == 1)
        #expect(body.rejected.isEmpty)
    }

    @Test func arrayWithBadItemsRejectedByIndex() throws {
        let text = "[\(self.good), 42, {\"person\": {}}, {\"identityMap\": {\"crmID\": []}, \"a\": 1}, \(self.good)]"
        let body = try ProfileBody(Data(text.utf8), ndjson: false)
        #expect(body.profiles.count == 2)
        #expect(body.rejected.map(\.index) == [1, 2, 3])
        #expect(body.rejected[0].error.contains("JSON object"))
        #expect(body.rejected[2].error.contains("identityMap"))
    }

    @Test func ndjsonWithBadLines() throws {
        let text = "\(self.good)\n{not json\n\n\(self.good)\r\n[1]\n"
        let body = try ProfileBody(Data(text.utf8), ndjson: true)
        #expect(body.profiles.count == 2)
        #expect(body.rejected.map(\.index) == [1, 3])
        #expect(body.rejected[0].error.contains("line 2 is not JSON"))
    }

    @Test func ndjsonWithoutItsContentTypeIsStillRead() throws {
        let body = try ProfileBody(Data("\(self.good)\n\(self.good)\n".utf8), ndjson: false)
        #expect(body.profiles.count == 2)
    }

    @Test func notJSONAtAllIsRefusedWhole() {
        #expect(throws: ProfileBody.Failure.self) { try ProfileBody(Data("hello".utf8), ndjson: false) }
        #expect(throws: ProfileBody.Failure.empty) { try ProfileBody(Data("  \n".utf8), ndjson: false) }
        #expect(throws: ProfileBody.Failure.self) { try ProfileBody(Data(#"{"identityMap": "#.utf8), ndjson: false) }
    }
}
