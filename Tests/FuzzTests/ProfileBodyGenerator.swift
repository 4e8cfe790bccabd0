import Foundation
import SfdestBasics

/// One item of a generated body and what the service must do with it.
struct FuzzItem {
    enum Kind: Equatable {
        /// A well-formed profile of a seeded contact, in the destination's audience: must be delivered.
        case good(contactIndex: Int)
        /// Odd but readable (wrong types where attributes are free-form, unicode, huge strings):
        /// accepted and stored, in no audience of the destination.
        case tolerated
        /// Unreadable: rejected by index with an error containing `expect`.
        case bad(expect: String)
    }

    var bytes: Data
    var kind: Kind
    /// Not JSON at all (truncated, invalid UTF-8, too deep): only an NDJSON line can carry it
    /// without making the whole body unreadable.
    var onlyAsLine = false
}

/// A generated request to `POST /v1/profiles` and the answer it must get.
struct FuzzCase {
    enum Expectation {
        /// The whole body is refused with this status and error code.
        case refused(status: Int, code: String)
        /// 202: the items of `items` by index (good and tolerated accepted, bad rejected).
        case itemized([FuzzItem])
    }

    var label: String
    var body: Data?
    var contentType: String?
    var expectation: Expectation
}

/// Deterministic malformed (and some good) bodies for `POST /v1/profiles`: every level of the XDM
/// shape gets wrong types, plus truncation, invalid UTF-8, deep nesting, huge strings, NDJSON with
/// bad lines, wrong content types, empty and oversized bodies.
struct ProfileBodyGenerator {
    static let maxBodyBytes = 16 << 20
    static let goodTime = "2026-11-20T10:00:00Z"
    static let jsonTypes: [String?] = [
        "application/json", "application/json; charset=utf-8", nil, "text/plain", "application/vnd.adobe.xdm+json", "application/octet-stream",
    ]
    static let lineTypes = ["application/x-ndjson", "application/x-ndjson; charset=utf-8", "application/ndjson", "application/jsonl", "application/x-jsonlines"]

    let seed: UInt64
    let contactIds: [String]
    /// One body in `goodEvery` carries a good profile (of its own contact), while contacts last.
    let goodEvery = 25

    /// The good profile of a contact, with a last name that proves which body delivered it.
    static func lastName(bodyIndex: Int) -> String { "Fuzz-\(bodyIndex)" }

    func generate(_ index: Int) -> FuzzCase {
        var rng = SeededGenerator(seed: self.seed &+ UInt64(index) &* 0x2545_F491_4F6C_DD1D)
        // A few fixed giants, so that the run stays bounded.
        switch index {
        case 17: return self.oversized(contentType: "application/json")
        case 4_017: return self.oversized(contentType: "application/x-ndjson")
        case 8_017: return self.oversized(contentType: nil)
        default: break
        }
        let good = index % self.goodEvery == 0 && index / self.goodEvery < self.contactIds.count
            ? FuzzItem(bytes: jsonText(self.goodProfile(index / self.goodEvery, bodyIndex: index)), kind: .good(contactIndex: index / self.goodEvery))
            : nil
        let huge = index % 500 == 250
        let roll = good != nil || huge ? rng.int(0..<700) : rng.int(0..<1_000)
        switch roll {
        case 0..<420: return self.mixedJSON(&rng, index: index, good: good, huge: huge)
        case 420..<700: return self.mixedLines(&rng, index: index, good: good, huge: huge)
        case 700..<780: return self.truncated(&rng, index: index)
        case 780..<830: return self.invalidUTF8(&rng, index: index)
        case 830..<870: return self.lineOnlyInArray(&rng, index: index)
        case 870..<910: return self.empty(&rng)
        case 910..<950: return self.deep(&rng)
        case 950..<985: return self.notJSON(&rng)
        case 985..<995: return self.scalarDocument(&rng)
        default: return self.tooManyItems(&rng)
        }
    }

    // MARK: bodies

    private func mixedJSON(_ rng: inout SeededGenerator, index: Int, good: FuzzItem?, huge: Bool) -> FuzzCase {
        var items: [FuzzItem] = (0..<rng.int(1..<9)).map { position in
            rng.chance(0.55) ? self.badItem(&rng) : self.toleratedItem(&rng, id: "fz-\(index)-\(position)@example.com")
        }
        if huge { items.append(self.hugeItem(&rng, id: "fz-\(index)-huge@example.com")) }
        if let good { items.insert(good, at: rng.int(0..<(items.count + 1))) }
        let contentType = rng.pick(Self.jsonTypes)
        // Sent alone, an item is the body; an item that is itself an array would then be the list.
        if items.count == 1 && items[0].bytes.first != UInt8(ascii: "[") && rng.chance(0.5) {
            return FuzzCase(label: "single object", body: items[0].bytes, contentType: contentType, expectation: .itemized(items))
        }
        var body = Data("[".utf8)
        for (position, item) in items.enumerated() {
            if position > 0 { body += Data((rng.chance(0.2) ? " , " : ",").utf8) }
            body += item.bytes
        }
        body += Data("]".utf8)
        return FuzzCase(label: "array", body: body, contentType: contentType, expectation: .itemized(items))
    }

    private func mixedLines(_ rng: inout SeededGenerator, index: Int, good: FuzzItem?, huge: Bool) -> FuzzCase {
        var items: [FuzzItem] = (0..<rng.int(1..<10)).map { position in
            switch rng.int(0..<10) {
            case 0..<4: return self.badItem(&rng)
            case 4..<7: return self.lineOnlyItem(&rng)
            default: return self.toleratedItem(&rng, id: "fz-\(index)-\(position)@example.com")
            }
        }
        if huge { items.append(self.hugeItem(&rng, id: "fz-\(index)-huge@example.com")) }
        if let good { items.insert(good, at: rng.int(0..<(items.count + 1))) }
        // NDJSON sent without its content type is recognized when its first line is an object.
        let undeclared = items.count > 1 && rng.chance(0.15)
        if undeclared {
            items.insert(self.toleratedItem(&rng, id: "fz-\(index)-first@example.com"), at: 0)
        }
        let newline = rng.chance(0.2) ? "\r\n" : "\n"
        var body = Data()
        for (position, item) in items.enumerated() {
            if position > 0 || !undeclared, rng.chance(0.1) { body += Data((rng.chance(0.5) ? "  " : "") .utf8) + Data(newline.utf8) }
            body += item.bytes
            body += Data(newline.utf8)
        }
        let contentType = undeclared ? rng.pick([nil, "application/json"]) : rng.pick(Self.lineTypes)
        return FuzzCase(label: undeclared ? "ndjson undeclared" : "ndjson", body: body, contentType: contentType, expectation: .itemized(items))
    }

    /// A valid array body cut short: not JSON.
    private func truncated(_ rng: inout SeededGenerator, index: Int) -> FuzzCase {
        let items = (0..<rng.int(1..<5)).map { self.toleratedItem(&rng, id: "fz-\(index)-\($0)@example.com").bytes }
        let whole = Data("[".utf8) + items.joined(separator: Data(",".utf8)) + Data("]".utf8)
        let cut = whole.prefix(rng.int(1..<whole.count))
        return FuzzCase(label: "truncated", body: Data(cut), contentType: rng.pick(Self.jsonTypes), expectation: .refused(status: 400, code: "malformed_json"))
    }

    /// A valid array body with bytes that are not UTF-8 inside it.
    private func invalidUTF8(_ rng: inout SeededGenerator, index: Int) -> FuzzCase {
        let items = (0..<rng.int(1..<4)).map { self.toleratedItem(&rng, id: "fz-\(index)-\($0)@example.com").bytes }
        var body = Array(Data("[".utf8) + items.joined(separator: Data(",".utf8)) + Data("]".utf8))
        body.insert(rng.pick(Self.invalidBytes), at: rng.int(1..<body.count))
        return FuzzCase(label: "invalid utf-8", body: Data(body), contentType: rng.pick(Self.jsonTypes), expectation: .refused(status: 400, code: "malformed_json"))
    }

    /// An item that is not JSON at all, in an array body: the body cannot be read.
    private func lineOnlyInArray(_ rng: inout SeededGenerator, index: Int) -> FuzzCase {
        var item = self.lineOnlyItem(&rng)
        while item.kind == .bad(expect: "must be a JSON object") { item = self.lineOnlyItem(&rng) }
        let other = self.toleratedItem(&rng, id: "fz-\(index)@example.com").bytes
        let body = Data("[".utf8) + other + Data(",".utf8) + item.bytes + Data("]".utf8)
        let deep = item.kind == .bad(expect: "deeper than 64")
        return FuzzCase(
            label: "unreadable item in array", body: body, contentType: rng.pick(Self.jsonTypes),
            expectation: .refused(status: 400, code: deep ? "nesting_too_deep" : "malformed_json")
        )
    }

    private func empty(_ rng: inout SeededGenerator) -> FuzzCase {
        let body: Data? = rng.pick([nil, Data(), Data(" ".utf8), Data("\n\n".utf8), Data(" \r\n\t \n".utf8)])
        let contentType = rng.pick(Self.jsonTypes + Self.lineTypes.map(Optional.some))
        return FuzzCase(label: "empty", body: body, contentType: contentType, expectation: .refused(status: 400, code: "malformed_json"))
    }

    /// Arrays and objects nested far past the limit: refused before parsing.
    private func deep(_ rng: inout SeededGenerator) -> FuzzCase {
        let levels = rng.chance(0.05) ? 100_000 : rng.pick([65, 100, 512, 513, 1_000, 5_000, 20_000])
        let opener = rng.pick(["[", "{\"a\":", "[{\"b\":", "{\"identityMap\":"])
        var text = String(repeating: opener, count: levels)
        if rng.chance(0.5) {
            let closer = String(opener.reversed().compactMap { $0 == "[" ? "]" : $0 == "{" ? "}" : nil })
            text += "1" + String(repeating: closer, count: levels)
        }
        return FuzzCase(label: "deep \(levels)", body: Data(text.utf8), contentType: rng.pick(Self.jsonTypes), expectation: .refused(status: 400, code: "nesting_too_deep"))
    }

    /// Not JSON, often with a content type that says so.
    private func notJSON(_ rng: inout SeededGenerator) -> FuzzCase {
        let samples: [(String?, String)] = [
            ("text/plain", "hello, profiles"),
            ("application/xml", "<profile><id>003</id></profile>"),
            ("application/x-www-form-urlencoded", "identityMap=crmID&id=003xx"),
            ("multipart/form-data; boundary=XyZ", "--XyZ\r\nContent-Disposition: form-data; name=\"p\"\r\n\r\n{\"a\":1}\r\n--XyZ--\r\n"),
            ("text/csv", "crmID,lastName\n003xx,Lovelace\n"),
            ("application/json", "{identityMap: {crmID: [{id: '003'}]}}"),
            ("application/json", "NaN"),
            (nil, "undefined"),
            ("application/json", "{\"a\":1} {\"b\":2}"),
            ("image/png", "\u{89}PNG\r\n\u{1A}\n"),
        ]
        let (contentType, text) = rng.pick(samples)
        return FuzzCase(label: "not json (\(contentType ?? "none"))", body: Data(text.utf8), contentType: contentType, expectation: .refused(status: 400, code: "malformed_json"))
    }

    /// A JSON document that is no profile at all: 202, nothing accepted, item 0 rejected.
    private func scalarDocument(_ rng: inout SeededGenerator) -> FuzzCase {
        let text = rng.pick(["42", "\"a profile\"", "null", "true", "-0.5e3", "[]", "[[]]", "{}"])
        let items: [FuzzItem]
        switch text {
        case "[]": items = []
        case "[[]]": items = [FuzzItem(bytes: Data(), kind: .bad(expect: "must be a JSON object"))]
        case "{}": items = [FuzzItem(bytes: Data(), kind: .bad(expect: "no identityMap"))]
        default: items = [FuzzItem(bytes: Data(), kind: .bad(expect: "must be a JSON object"))]
        }
        return FuzzCase(label: "scalar \(text)", body: Data(text.utf8), contentType: rng.pick(Self.jsonTypes), expectation: .itemized(items))
    }

    /// More items than one body may carry: 413 before any is read.
    private func tooManyItems(_ rng: inout SeededGenerator) -> FuzzCase {
        if rng.chance(0.5) {
            let body = Data(("[" + String(repeating: "0,", count: 100_000) + "0]").utf8)
            return FuzzCase(label: "too many items", body: body, contentType: "application/json", expectation: .refused(status: 413, code: "payload_too_large"))
        }
        let body = Data(String(repeating: "{}\n", count: 100_001).utf8)
        return FuzzCase(label: "too many lines", body: body, contentType: "application/x-ndjson", expectation: .refused(status: 413, code: "payload_too_large"))
    }

    /// One byte over the 16 MiB limit.
    private func oversized(contentType: String?) -> FuzzCase {
        var text = "[" + String(repeating: " ", count: Self.maxBodyBytes - 1)
        text += "]"
        return FuzzCase(label: "oversized", body: Data(text.utf8), contentType: contentType, expectation: .refused(status: 413, code: "payload_too_large"))
    }

    // MARK: items

    func goodProfile(_ contactIndex: Int, bodyIndex: Int) -> [String: Any] {
        [
            "identityMap": ["crmID": [["id": self.contactIds[contactIndex]]]],
            "person": ["name": ["firstName": "Fuzz", "lastName": Self.lastName(bodyIndex: bodyIndex)]],
            "segmentMembership": ["ups": ["seg-gold": ["status": "realized", "lastQualificationTime": Self.goodTime]]],
        ]
    }

    /// Readable, so accepted; never in the destination's audience and never with a Salesforce Id.
    private func toleratedItem(_ rng: inout SeededGenerator, id: String) -> FuzzItem {
        var profile: [String: Any] = ["identityMap": ["email": [["id": id]]]]
        switch rng.int(0..<16) {
        case 0: profile["person"] = rng.pick(["a string", 42, [1, 2], NSNull(), true, -1.5e300] as [Any])
        case 1: profile["person"] = ["name": rng.pick([NSNull(), 17, ["x"], ["lastName": 17], ["lastName": ["a", "b"]], [:]] as [Any])]
        case 2: profile["personalEmail"] = rng.pick([[], [:], ["address": NSNull()], ["address": 0]] as [Any])
        case 3: profile["segmentMembership"] = rng.pick([[:], ["ups": [:]]] as [Any])
        case 4: profile["identityMap"] = ["email": [["id": id]], "other": [], "ECID": [["id": id], ["id": " \(id) "]]]
        case 5: profile["x"] = Self.nested(array: true, levels: 50)
        case 6: profile["x"] = Self.nested(array: false, levels: 25)
        case 7: profile["n"] = rng.pick([Int64.max, Int64.min, 0, 1e-300, 9_007_199_254_740_993] as [Any])
        case 8: profile["person"] = ["name": ["lastName": rng.pick(["Zoë 😀", "\u{0}\u{1}\u{1F}", "\"quoted\" \\ back", "中文名字", "\u{202E}rtl", ""])]]
        case 9:
            profile["segmentMembership"] = ["ups": [
                "seg-other": ["status": rng.pick(["realized", "existing", "exited"]), "lastQualificationTime": rng.pick(["2026-11-20", "2026-11-20T10:00:00.123+02:00", "2026-11-20 10:00:00Z", "2024-02-29T23:59:60Z"])],
                "seg-ümlaut 🚀": ["status": "exited", "lastQualificationTime": Self.goodTime],
            ]]
        case 10: profile["a.b"] = ["c": 1]
        case 11: profile[""] = "empty key"
        case 12: profile["extra"] = ["status": "unknown", "lastQualificationTime": 3]
        case 13: profile["identityMap"] = ["email": [["id": id, "primary": "yes", "authenticatedState": 7]]]
        case 14: profile["flags"] = ["on": true, "off": false, "nothing": NSNull()]
        default: break
        }
        return FuzzItem(bytes: jsonText(profile), kind: .tolerated)
    }

    /// A tolerated profile carrying a string of one to three MiB.
    private func hugeItem(_ rng: inout SeededGenerator, id: String) -> FuzzItem {
        let size = rng.int(1 << 20..<3 << 20)
        let profile: [String: Any] = ["identityMap": ["email": [["id": id]]], "person": ["name": ["lastName": String(repeating: "h", count: size)]]]
        return FuzzItem(bytes: jsonText(profile), kind: .tolerated)
    }

    /// A profile object with exactly one thing wrong, somewhere in the XDM shape.
    private func badItem(_ rng: inout SeededGenerator) -> FuzzItem {
        let id = "fz-bad@example.com"
        let valid: [String: Any] = ["identityMap": ["email": [["id": id]]], "person": ["name": ["lastName": "Bad"]]]
        var profile = valid
        let expect: String
        let membership = { (entry: Any) -> [String: Any] in ["ups": ["seg-x": entry]] }
        switch rng.int(0..<20) {
        case 0:
            profile["identityMap"] = rng.pick(["crmID", 1, [], NSNull(), true, [[:]]] as [Any])
            expect = "identityMap"
        case 1:
            profile["identityMap"] = ["email": rng.pick(["x", 1, [:], NSNull(), ["id": id]] as [Any])]
            expect = "identityMap.email"
        case 2:
            profile["identityMap"] = ["email": [rng.pick(["x", 1, [:], ["id": 1], ["id": NSNull()], ["id": [:]], ["id": ["a"]], ["ID": id]] as [Any])]]
            expect = "identityMap.email[0]"
        case 3:
            profile["identityMap"] = ["email": [["id": id], ["id": rng.pick(["", "   ", "\t\n"])]]]
            expect = "identityMap.email[1].id"
        case 4:
            profile["identityMap"] = ["email": [["id": String(repeating: "i", count: rng.pick([1_025, 100_000]))]]]
            expect = "identityMap.email[0].id"
        case 5:
            profile["identityMap"] = ["email": (0...100).map { ["id": "many-\($0)"] }]
            expect = "more than 100 identities"
        case 6:
            profile.removeValue(forKey: "identityMap")
            profile[rng.chance(0.5) ? "identityMap" : "unused"] = [:] as [String: Any]
            expect = "identityMap"
        case 7:
            profile["segmentMembership"] = rng.pick(["ups", 1, [], NSNull(), false] as [Any])
            expect = "segmentMembership"
        case 8:
            profile["segmentMembership"] = ["ups": rng.pick(["seg-x", 1, [], NSNull(), [["status": "realized"]]] as [Any])]
            expect = "segmentMembership.ups"
        case 9:
            profile["segmentMembership"] = membership(rng.pick(["realized", 1, [], NSNull(), true] as [Any]))
            expect = "segmentMembership.ups.seg-x"
        case 10:
            var entry: [String: Any] = ["lastQualificationTime": Self.goodTime]
            if let status = rng.pick(["qualified", "REALIZED", "", 1, NSNull(), ["realized"], nil] as [Any?]) { entry["status"] = status }
            profile["segmentMembership"] = membership(entry)
            expect = "segmentMembership.ups.seg-x.status"
        case 11:
            var entry: [String: Any] = ["status": "realized"]
            let times: [Any?] = [
                "yesterday", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-11-20T24:00:00Z", "", "2026-11-20T10:00:00+25:00",
                "20261120", "2026-11-20T10:00:00.Z", 1_763_632_800, NSNull(), ["2026-11-20"], nil,
            ]
            if let time = rng.pick(times) { entry["lastQualificationTime"] = time }
            profile["segmentMembership"] = membership(entry)
            expect = "segmentMembership.ups.seg-x.lastQualificationTime"
        case 12:
            profile["segmentMembership"] = ["ups": Dictionary(uniqueKeysWithValues: (0...1_000).map {
                ("seg-\($0)", ["status": "realized", "lastQualificationTime": Self.goodTime] as [String: Any])
            })]
            expect = "more than 1000 memberships"
        case 13:
            profile["traits"] = Dictionary(uniqueKeysWithValues: (0...1_000).map { ("t\($0)", $0) })
            expect = "more than 1000 attributes"
        case 14:
            profile["person"] = Self.nested(array: false, levels: rng.int(33..<60))
            expect = "nested deeper than 32"
        case 15:
            return FuzzItem(bytes: Data("{\"identityMap\":{\"email\":[{\"id\":\"x\"}]},\"loyalty\":{\"points\":18446744073709551615}}".utf8), kind: .bad(expect: "64-bit"))
        case 16:
            profile["segmentMembership"] = ["ups": [String(repeating: "s", count: 2_000): ["status": "realized", "lastQualificationTime": Self.goodTime]]]
            expect = "longer than 1024"
        case 17:
            let body = rng.pick(["\"a profile\"", "1", "[]", "null", "true", "[{\"identityMap\":{\"email\":[{\"id\":\"x\"}]}}]"])
            return FuzzItem(bytes: Data(body.utf8), kind: .bad(expect: "must be a JSON object"))
        case 18:
            profile = ["person": ["name": ["lastName": "No identity"]]]
            expect = "identityMap"
        default:
            profile = [:]
            expect = "no identityMap"
        }
        return FuzzItem(bytes: jsonText(profile), kind: .bad(expect: expect))
    }

    static let invalidBytes: [UInt8] = [0xFF, 0xFE, 0xC0, 0xC1, 0x80, 0xBF, 0xF5, 0xF8]

    /// An item that is not JSON (or is too deep to be read): rejected as a line, fatal in an array.
    private func lineOnlyItem(_ rng: inout SeededGenerator) -> FuzzItem {
        let valid = jsonText(["identityMap": ["email": [["id": "fz-line@example.com"]]], "person": ["name": ["lastName": "Line"]]])
        switch rng.int(0..<8) {
        case 0:
            return FuzzItem(bytes: Data(valid.prefix(rng.int(1..<valid.count))), kind: .bad(expect: "is not JSON"), onlyAsLine: true)
        case 1:
            var bytes = Array(valid)
            bytes.insert(rng.pick(Self.invalidBytes), at: rng.int(1..<bytes.count))
            return FuzzItem(bytes: Data(bytes), kind: .bad(expect: "is not JSON"), onlyAsLine: true)
        case 2:
            return FuzzItem(bytes: Data("{\"identityMap\":{\"email\":[{\"id\":\"\\ud800\"}]}}".utf8), kind: .bad(expect: "is not JSON"), onlyAsLine: true)
        case 3:
            return FuzzItem(bytes: Data("{\"identityMap\":{\"email\":[{\"id\":\"x\"}]},\"n\":1e999}".utf8), kind: .bad(expect: "is not JSON"), onlyAsLine: true)
        case 4:
            let levels = rng.pick([65, 300, 600, 3_000])
            return FuzzItem(bytes: Data((String(repeating: "[", count: levels) + String(repeating: "]", count: levels)).utf8), kind: .bad(expect: "deeper than 64"), onlyAsLine: true)
        case 5:
            return FuzzItem(bytes: valid + Data(" trailing".utf8), kind: .bad(expect: "is not JSON"), onlyAsLine: true)
        case 6:
            return FuzzItem(bytes: Data("{\"identityMap\":{\"email\":[{\"id\":\"a\u{1}b\"}]}}".utf8), kind: .bad(expect: "is not JSON"), onlyAsLine: true)
        default:
            // One line holding an array of profiles: JSON, but not a profile.
            return FuzzItem(bytes: Data("[".utf8) + valid + Data("]".utf8), kind: .bad(expect: "must be a JSON object"))
        }
    }

    /// `{"a":{"a":...1}}` or `[[...1]]`, `levels` deep.
    static func nested(array: Bool, levels: Int) -> Any {
        var value: Any = 1
        for _ in 0..<levels { value = array ? [value] : ["a": value] }
        return value
    }
}
