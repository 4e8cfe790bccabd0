import AsyncHTTPClient
import Foundation
import NIOHTTP1
import SfdestBasics
import SfdestClient
import Testing

/// A generated configuration request and the answer it must get: the status, the error code and
/// the exact list of fields `details` must name (every problem, not the first one).
struct ConfigCase {
    var label: String
    var method: HTTPMethod
    var path: String
    var body: Data
    var status: Int
    var code: String?
    var fields: [String] = []
}

/// Deterministic bad configuration bodies: Mapping IDs with spaces, too long, non-ASCII; unknown
/// object types; more than 25 fields; wrong types anywhere; truncated, empty, deep or not UTF-8.
struct ConfigBodyGenerator {
    let seed: UInt64
    let destinationId: String
    let connectionId: String

    static let badMappingIds: [String] = [
        "crm 1 seg", " crm_1_seg", "crm_1_seg ", "crm\t1", String(repeating: "a", count: 41), String(repeating: "b", count: 41) + "__c",
        String(repeating: "c", count: 200), "crm_ü_seg", "ségment", "seg_😀", "сегмент", "", "__c", "1_crm_seg", "_crm", "crm_", "crm__seg",
        "crm-1-seg", "crm.1.seg", "crm_1_seg__c__c", "crm_1_seg__C\u{0}",
    ]

    func generate(_ index: Int) -> ConfigCase {
        var rng = SeededGenerator(seed: self.seed &+ UInt64(index) &* 0x9E37_79B9)
        switch rng.int(0..<100) {
        case 0..<35: return self.segments(&rng)
        case 35..<50: return self.wrongTypedSegments(&rng)
        case 50..<60: return self.wrongTypedMappings(&rng)
        case 60..<72: return self.destination(&rng)
        case 72..<80: return self.connection(&rng)
        case 80..<88: return self.notAList(&rng)
        default: return self.unreadable(&rng)
        }
    }

    private var segmentsPath: String { "/v1/destinations/\(self.destinationId)/segments" }
    private var mappingsPath: String { "/v1/destinations/\(self.destinationId)/mappings" }

    /// Segments with bad Mapping IDs, dates and ids mixed with good ones; sometimes over 25 fields.
    private func segments(_ rng: inout SeededGenerator) -> ConfigCase {
        let manyFields = rng.chance(0.25)
        let count = manyFields ? rng.int(26..<40) : rng.int(1..<12)
        var items: [[String: Any]] = []
        var fields: [String] = []
        var validFields = Set<String>()
        for position in 0..<count {
            var item: [String: Any] = ["segmentId": "seg-\(position)", "mappingId": manyFields ? "crm_\(position)_seg" : "crm_\(rng.int(1..<4))_seg"]
            if rng.chance(manyFields ? 0.1 : 0.5) {
                switch rng.int(0..<5) {
                case 0, 1:
                    item["mappingId"] = rng.pick(Self.badMappingIds)
                    fields.append("[\(position)].mappingId")
                case 2:
                    item.removeValue(forKey: rng.chance(0.5) ? "segmentId" : "mappingId")
                    fields.append("[\(position)].\(item["segmentId"] == nil ? "segmentId" : "mappingId")")
                case 3:
                    item["segmentId"] = rng.pick(["", "   ", "\t"])
                    fields.append("[\(position)].segmentId")
                default:
                    if rng.chance(0.5) {
                        item["startDate"] = rng.pick(["2026-13-01", "tomorrow", "2026-11-01T00:00:00Z", "01/11/2026", "2026-02-30", ""])
                        fields.append("[\(position)].startDate")
                    } else {
                        item["startDate"] = "2026-11-02"
                        item["endDate"] = "2026-11-01"
                        fields.append("[\(position)].endDate")
                    }
                }
            } else {
                validFields.insert((item["mappingId"] as? String ?? "").lowercased())
            }
            items.append(item)
        }
        if validFields.count > 25 { fields.append("segments") }
        let body = jsonText(items)
        if fields.isEmpty {
            return ConfigCase(label: "valid segments", method: .PUT, path: self.segmentsPath, body: body, status: 200, code: nil)
        }
        return ConfigCase(label: "bad segments", method: .PUT, path: self.segmentsPath, body: body, status: 422, code: "validation_failed", fields: fields)
    }

    /// Values of the wrong type for a string field.
    static var wrongValues: [Any] { [1, 2.5, true, ["crm_1_seg"], ["a": "b"], [] as [Any], [:] as [String: Any]] }

    /// Values of the wrong type anywhere in a segments body: every one of them named.
    private func wrongTypedSegments(_ rng: inout SeededGenerator) -> ConfigCase {
        var items: [Any] = []
        var fields: [String] = []
        for position in 0..<rng.int(1..<8) {
            if rng.chance(0.15) {
                items.append(rng.pick(["seg-gold", 7, false, [1]] as [Any]))
                fields.append("[\(position)]")
                continue
            }
            var item: [String: Any] = ["segmentId": "seg-\(position)", "mappingId": "crm_1_seg"]
            for key in ["segmentId", "mappingId", "startDate", "endDate"] where rng.chance(0.3) {
                item[key] = rng.pick(Self.wrongValues)
                fields.append("[\(position)].\(key)")
            }
            items.append(item)
        }
        if fields.isEmpty {
            items.append(NSNull())
            fields.append("[\(items.count - 1)]")
        }
        return ConfigCase(label: "wrong types in segments", method: .PUT, path: self.segmentsPath, body: jsonText(items), status: 422, code: "invalid_request", fields: fields)
    }

    private func wrongTypedMappings(_ rng: inout SeededGenerator) -> ConfigCase {
        var items: [Any] = []
        var fields: [String] = []
        for position in 0..<rng.int(1..<6) {
            var item: [String: Any] = ["source": "xdm:person.name.lastName", "target": "attribute:LastName"]
            for key in ["source", "target"] where rng.chance(0.5) {
                item[key] = rng.pick(Self.wrongValues)
                fields.append("[\(position)].\(key)")
            }
            items.append(rng.chance(0.1) ? "xdm:person.name.lastName -> LastName" : item)
            if items.last is String {
                fields.removeAll { $0.hasPrefix("[\(position)].") }
                fields.append("[\(position)]")
            }
        }
        if fields.isEmpty {
            items.append(42)
            fields.append("[\(items.count - 1)]")
        }
        return ConfigCase(label: "wrong types in mappings", method: .PUT, path: self.mappingsPath, body: jsonText(items), status: 422, code: "invalid_request", fields: fields)
    }

    /// A destination with an unknown object type or wrong types (never a valid one).
    private func destination(_ rng: inout SeededGenerator) -> ConfigCase {
        var body: [String: Any] = ["name": "Fuzz", "connectionId": self.connectionId, "objectType": "Contact"]
        if rng.chance(0.5) {
            body["objectType"] = rng.pick(["Account", "contact", "LEAD", "", "Lead ", "Contact\u{0}", "Ĉontact", "Opportunity", "Contact__c"])
            return ConfigCase(
                label: "unknown object type", method: .POST, path: "/v1/destinations", body: jsonText(body), status: 422,
                code: "invalid_request", fields: ["objectType"]
            )
        }
        var fields: [String] = []
        for key in ["name", "description", "connectionId", "objectType"] where rng.chance(0.5) || (key == "objectType" && fields.isEmpty) {
            body[key] = rng.pick(Self.wrongValues)
            fields.append(key)
        }
        return ConfigCase(label: "wrong types in destination", method: .POST, path: "/v1/destinations", body: jsonText(body), status: 422, code: "invalid_request", fields: fields)
    }

    /// A connection with wrong types (refused before any login is tried).
    private func connection(_ rng: inout SeededGenerator) -> ConfigCase {
        var auth: [String: Any] = ["type": "password", "username": "u", "password": "p", "clientId": "c", "clientSecret": "s"]
        var body: [String: Any] = ["name": "Fuzz", "loginUrl": "http://127.0.0.1:9", "auth": auth]
        var fields: [String] = []
        for key in ["name", "loginUrl", "apiVersion"] where rng.chance(0.3) {
            body[key] = rng.pick(Self.wrongValues)
            fields.append(key)
        }
        if rng.chance(0.2) {
            body["auth"] = rng.pick(["password", 1, [1]] as [Any])
            fields.append("auth")
        } else {
            for key in ["type", "username", "password", "securityToken", "clientId", "clientSecret"] where rng.chance(0.25) || (key == "clientSecret" && fields.isEmpty) {
                auth[key] = rng.pick(Self.wrongValues)
                fields.append("auth.\(key)")
            }
            body["auth"] = auth
        }
        return ConfigCase(label: "wrong types in connection", method: .POST, path: "/v1/connections", body: jsonText(body), status: 422, code: "invalid_request", fields: fields)
    }

    /// A list body that is not a list, or an object body that is not an object.
    private func notAList(_ rng: inout SeededGenerator) -> ConfigCase {
        let (path, method, text) = rng.pick([
            (self.segmentsPath, HTTPMethod.PUT, "{\"segmentId\": \"seg-gold\", \"mappingId\": \"crm_1_seg\"}"),
            (self.segmentsPath, .PUT, "\"crm_1_seg\""), (self.segmentsPath, .PUT, "null"),
            (self.mappingsPath, .PUT, "42"), (self.mappingsPath, .PUT, "{}"),
            ("/v1/destinations", .POST, "[]"), ("/v1/destinations", .POST, "\"Contact\""), ("/v1/connections", .POST, "[{}]"),
        ])
        return ConfigCase(label: "wrong document type", method: method, path: path, body: Data(text.utf8), status: 422, code: "invalid_request", fields: ["(body)"])
    }

    /// Truncated, empty, too deep or not UTF-8: not read at all.
    private func unreadable(_ rng: inout SeededGenerator) -> ConfigCase {
        let (path, method) = rng.pick([
            (self.segmentsPath, HTTPMethod.PUT), (self.mappingsPath, .PUT), ("/v1/destinations", .POST), ("/v1/connections", .POST),
        ])
        let whole = path.hasSuffix("s") && method == .PUT
            ? jsonText([["segmentId": "seg-gold", "mappingId": "crm_1_seg"], ["source": "xdm:a", "target": "attribute:LastName"]])
            : jsonText(["name": "Fuzz", "connectionId": self.connectionId, "objectType": "Contact", "auth": ["type": "password"]])
        switch rng.int(0..<4) {
        case 0:
            return ConfigCase(label: "truncated", method: method, path: path, body: Data(whole.prefix(rng.int(1..<whole.count))), status: 400, code: "malformed_json")
        case 1:
            return ConfigCase(label: "empty", method: method, path: path, body: Data(rng.pick(["", " ", "\n"]).utf8), status: 400, code: "malformed_json")
        case 2:
            let levels = rng.pick([65, 1_000, 100_000])
            let text = String(repeating: "[", count: levels) + String(repeating: "]", count: levels)
            return ConfigCase(label: "deep \(levels)", method: method, path: path, body: Data(text.utf8), status: 400, code: "nesting_too_deep")
        default:
            var bytes = Array(whole)
            bytes.insert(rng.pick(ProfileBodyGenerator.invalidBytes), at: rng.int(1..<bytes.count))
            return ConfigCase(label: "invalid utf-8", method: method, path: path, body: Data(bytes), status: 400, code: "malformed_json")
        }
    }
}

@Suite("Malformed configuration bodies")
struct ConfigFuzzTests {
    static let bodies = 1_500

    @Test func everyProblemIsListedAndNoneIsA5xx() async throws {
        try await FuzzService.with { service in
            // setup
            let destinationId = try await service.createDestination()
            let destination = try await service.expect(200, .GET, "/v1/destinations/\(destinationId)")
            let connectionId = try #require(destination.object["connectionId"] as? String)
            let generator = ConfigBodyGenerator(seed: 0xC0FF_1C, destinationId: destinationId, connectionId: connectionId)
            let client = service.client

            // run
            var mismatches: [String] = []
            var byStatus: [Int: Int] = [:]
            try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                var next = 0
                func start() {
                    let index = next
                    next += 1
                    group.addTask {
                        let config = generator.generate(index)
                        let answer = try await client.send(config.method, config.path, body: config.body, contentType: "application/json")
                        return (answer.status, Self.check(config, answer).map { "#\(index) \(config.label) \(config.method.rawValue) \(config.path): \($0)" })
                    }
                }
                while next < 8 { start() }
                while let (status, mismatch) = try await group.next() {
                    byStatus[status, default: 0] += 1
                    if let mismatch { mismatches.append(mismatch) }
                    if next < Self.bodies { start() }
                }
            }

            // validate
            print("fuzz: \(Self.bodies) configuration bodies, by status: \(byStatus.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
            #expect(mismatches.isEmpty, "\(mismatches.count) answers differ from the expected, first ones:\n\(mismatches.prefix(20).joined(separator: "\n"))")
            #expect(byStatus.keys.allSatisfy { $0 < 500 })
            #expect(byStatus[422, default: 0] > 700)
            #expect(byStatus[400, default: 0] > 100)
            let destinations = try await service.expect(200, .GET, "/v1/destinations")
            #expect((destinations.json as? [Any])?.count == 1, "no invalid destination was created")
            let connections = try await service.expect(200, .GET, "/v1/connections")
            #expect((connections.json as? [Any])?.count == 1, "no invalid connection was created")
        }
    }

    static func check(_ config: ConfigCase, _ answer: ContractClient.Answer) -> String? {
        guard answer.status == config.status else { return "expected \(config.status), got \(answer.status): \(answer.text)" }
        guard let code = config.code else { return nil }
        guard answer.errorCode == code, !answer.errorMessage.isEmpty else { return "expected code \(code): \(answer.text)" }
        if !config.fields.isEmpty, answer.detailFields.sorted() != config.fields.sorted() {
            return "details name \(answer.detailFields.sorted()), expected \(config.fields.sorted()): \(answer.text)"
        }
        return nil
    }
}
