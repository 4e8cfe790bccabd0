import Foundation
import NIOCore
import Testing

@testable import SalesforceAPI

@Suite("sObject Collections body encoding")
struct CollectionsRequestBodyTests {
    private func text(_ records: [SObjectRecord], allOrNone: Bool = false) throws -> String {
        String(buffer: try CollectionsRequestBody.encode(records, allOrNone: allOrNone))
    }

    @Test("an update body has the documented shape, fields in the given order")
    func exactShape() throws {
        let record = SObjectRecord(objectType: "Contact", id: "003xx000004TmiQAAS", [
            "LastName": "Lovelace", "crm_1_seg__c": "realized",
        ])
        #expect(try self.text([record]) == #"{"allOrNone":false,"records":[{"attributes":{"type":"Contact"},"id":"003xx000004TmiQAAS","LastName":"Lovelace","crm_1_seg__c":"realized"}]}"#)
    }

    @Test("every value kind is written as JSON: null clears, numbers, booleans")
    func valueKinds() throws {
        let record = SObjectRecord(objectType: "Lead", [
            "Email": .null, "NumberOfEmployees": 42, "AnnualRevenue": 1234.5, "HasOptedOutOfEmail": true,
            "DoNotCall": false, "Tiny": .number(0.00001), "Negative": -7,
        ])
        let body = try self.text([record, SObjectRecord(objectType: "Lead")], allOrNone: true)
        #expect(body == #"{"allOrNone":true,"records":[{"attributes":{"type":"Lead"},"Email":null,"NumberOfEmployees":42,"AnnualRevenue":1234.5,"HasOptedOutOfEmail":true,"DoNotCall":false,"Tiny":1e-05,"Negative":-7},{"attributes":{"type":"Lead"}}]}"#)
        let parsed = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        let first = (parsed?["records"] as? [[String: Any]])?.first
        #expect(first?["Email"] is NSNull)
        #expect((first?["Tiny"] as? Double) == 0.00001)
    }

    @Test("strings are escaped so any text round-trips", arguments: [
        "plain", "quote \" and backslash \\", "line\nbreak\r\ttab", "\u{0}\u{1}\u{1F}\u{7F}", "seg-gold:realized\nseg-churn:exited",
        "émoji 🚀 and 中文", "\u{2028}\u{2029}", "</script>", "ends with backslash \\",
    ])
    func escaping(value: String) throws {
        let record = SObjectRecord(objectType: "Contact", id: "003\"x", ["Na\"me\n": .string(value)])
        let data = Data(try self.text([record]).utf8)
        let parsed = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let first = try #require((parsed["records"] as? [[String: Any]])?.first)
        #expect(first["Na\"me\n"] as? String == value)
        #expect(first["id"] as? String == "003\"x")
    }

    @Test("control characters use short escapes or \\u00XX")
    func controlEscapes() throws {
        var buffer = ByteBuffer()
        CollectionsRequestBody.writeString("a\u{8}\u{C}\u{1}b", into: &buffer)
        #expect(String(buffer: buffer) == #""a\b\f\u0001b""#)
    }

    @Test("NaN and infinity are refused before sending", arguments: [Double.nan, .infinity, -.infinity])
    func nonFinite(number: Double) {
        let record = SObjectRecord(objectType: "Contact", id: "003xx000004TmiQAAS", ["Score__c": .number(number)])
        do {
            _ = try CollectionsRequestBody.encode([record], allOrNone: false)
            Issue.record("\(number) was encoded")
        } catch {
            #expect(error.code == "INVALID_FIELD_VALUE")
            #expect(error.message.contains("Score__c"))
        }
    }

    @Test("200 records of 10 multi-line fields encode to the JSON Salesforce expects")
    func fullBatch() throws {
        let records = (0..<200).map { index in
            SObjectRecord(objectType: "Contact", id: "003xx000004TmiQAAS", fields: (0..<10).map {
                .init("crm_\($0)_seg__c", .string("seg-\(index):realized\nseg-other:exited"))
            })
        }
        let body = try CollectionsRequestBody.encode(records, allOrNone: false)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any])
        let decoded = try #require(object["records"] as? [[String: Any]])
        #expect(decoded.count == 200)
        #expect(decoded[199]["crm_9_seg__c"] as? String == "seg-199:realized\nseg-other:exited")
        #expect((decoded[0]["attributes"] as? [String: String])?["type"] == "Contact")
    }

}
