import Foundation
import SfdestJSON
import Testing
@testable import Activation

func json(_ text: String) -> JSON {
    try! JSONParser.parse(text)
}

@Suite("XDM profile decoding and merge")
struct ProfileTests {
    @Test func decodesTheContractExample() throws {
        let profile = try Profile(xdm: json("""
        {"identityMap": {"crmID": [{"id": "003xx000004TmiQAAS"}]},
         "person": {"name": {"firstName": "Ada", "lastName": "Lovelace"}},
         "personalEmail": {"address": "ada@example.com"},
         "b2b": {"companyName": "Analytical Engines"},
         "loyalty": {"points": 1200, "vip": true, "score": 4.5, "tier": null},
         "segmentMembership": {"ups": {"seg-gold": {"status": "realized", "lastQualificationTime": "2026-11-20T10:00:00Z"}}}}
        """))
        #expect(profile.identities == ["crmID": ["003xx000004TmiQAAS"]])
        #expect(profile.attributes["person.name.lastName"] == .string("Lovelace"))
        #expect(profile.attributes["personalEmail.address"] == .string("ada@example.com"))
        #expect(profile.attributes["loyalty.points"] == .integer(1200))
        #expect(profile.attributes["loyalty.vip"] == .bool(true))
        #expect(profile.attributes["loyalty.score"] == .double(4.5))
        #expect(profile.attributes["loyalty.tier"] == .null)
        #expect(profile.memberships["seg-gold"] == AudienceMembership(status: .realized, lastQualificationTime: Timestamp.parseMilliseconds("2026-11-20T10:00:00Z")!))
    }

    @Test(arguments: [
        (#"[1, 2]"#, ""),
        (#"{"identityMap": []}"#, "identityMap"),
        (#"{"identityMap": {"crmID": [{"id": 5}]}}"#, "identityMap.crmID[0]"),
        (#"{"identityMap": {"crmID": [{"id": "  "}]}}"#, "identityMap.crmID[0].id"),
        (#"{"segmentMembership": {"ups": {"s": {"status": "gone", "lastQualificationTime": "2026-11-20T10:00:00Z"}}}}"#, "segmentMembership.ups.s.status"),
        (#"{"segmentMembership": {"ups": {"s": {"status": "realized", "lastQualificationTime": "yesterday"}}}}"#, "segmentMembership.ups.s.lastQualificationTime"),
        (#"{"segmentMembership": {"ups": {"s": "realized"}}}"#, "segmentMembership.ups.s"),
        (#"{}"#, ""),
    ])
    func badProfilesSayWhereTheProblemIs(body: String, path: String) {
        #expect(throws: ProfileDecodingError.self) { try Profile(xdm: json(body)) }
        do {
            _ = try Profile(xdm: json(body))
        } catch {
            #expect(error.path == path)
            #expect(!error.problem.isEmpty)
        }
    }

    @Test func integersBeyond64BitsAreRefusedNotRounded() {
        for text in ["18446744073709551615", "-9223372036854775809", "123456789012345678901234567890"] {
            #expect {
                try Profile(xdm: json(#"{"identityMap": {"crmID": [{"id": "x"}]}, "loyalty": {"points": \#(text)}}"#))
            } throws: { error in
                let error = error as? ProfileDecodingError
                return error?.path == "loyalty.points" && error?.problem.contains("beyond the 64-bit integer range") == true
            }
        }
        #expect((try? Profile(xdm: json(#"{"identityMap": {"crmID": [{"id": "x"}]}, "n": 9223372036854775807}"#)))?.attributes["n"] == .integer(Int64.max))
    }

    @Test func limitsBoundNestingAndAttributeCount() {
        var limits = ProfileLimits()
        limits.maxDepth = 3
        #expect(throws: ProfileDecodingError.self) { try Profile(xdm: json(#"{"a": {"b": {"c": {"d": 1}}}}"#), limits: limits) }
        limits = ProfileLimits()
        limits.maxAttributes = 2
        #expect(throws: ProfileDecodingError.self) { try Profile(xdm: json(#"{"a": 1, "b": 2, "c": 3}"#), limits: limits) }
    }

    @Test func attributesAreLastWriteWinsPerField() throws {
        var stored = try Profile(xdm: json(#"{"person": {"name": {"firstName": "Ada", "lastName": "Byron"}}}"#))
        stored.merge(try Profile(xdm: json(#"{"person": {"name": {"lastName": "Lovelace"}}}"#)))
        #expect(stored.attributes["person.name.firstName"] == .string("Ada"))
        #expect(stored.attributes["person.name.lastName"] == .string("Lovelace"))
    }

    @Test func membershipsKeepTheNewerQualification() throws {
        var stored = try Profile(xdm: json(#"{"segmentMembership": {"ups": {"a": {"status": "realized", "lastQualificationTime": "2026-11-20T10:00:00Z"}, "b": {"status": "existing", "lastQualificationTime": "2026-11-20T10:00:00Z"}}}}"#))
        // An older "exited" for a arrives late: ignored. A newer "exited" for b: taken.
        stored.merge(try Profile(xdm: json(#"{"segmentMembership": {"ups": {"a": {"status": "exited", "lastQualificationTime": "2026-11-19T10:00:00Z"}, "b": {"status": "exited", "lastQualificationTime": "2026-11-21T10:00:00Z"}, "c": {"status": "realized", "lastQualificationTime": "2026-11-21T10:00:00Z"}}}}"#)))
        #expect(stored.memberships["a"]?.status == .realized)
        #expect(stored.memberships["b"]?.status == .exited)
        #expect(stored.memberships["c"]?.status == .realized)
    }

    @Test func identitiesAccumulateWithoutDuplicates() throws {
        var stored = try Profile(xdm: json(#"{"identityMap": {"crmID": [{"id": "003xx000004TmiQ"}]}}"#))
        stored.merge(try Profile(xdm: json(#"{"identityMap": {"crmID": [{"id": "003xx000004TmiQ"}, {"id": "003xx000004TmiR"}], "email": [{"id": "a@b.c"}]}}"#)))
        #expect(stored.identities["crmID"] == ["003xx000004TmiQ", "003xx000004TmiR"])
        #expect(stored.identities["email"] == ["a@b.c"])
    }
}

@Suite("Timestamps")
struct TimestampTests {
    @Test func parsesTheFormsProfilesCarry() {
        #expect(Timestamp.parseMilliseconds("1970-01-01T00:00:00Z") == 0)
        #expect(Timestamp.parseMilliseconds("2026-11-20T10:00:00Z") == 1_795_168_800_000)
        #expect(Timestamp.parseMilliseconds("2026-11-20T10:00:00.250Z") == 1_795_168_800_250)
        #expect(Timestamp.parseMilliseconds("2026-11-20T12:00:00+02:00") == 1_795_168_800_000)
        #expect(Timestamp.parseMilliseconds("2026-11-20T05:00:00-0500") == 1_795_168_800_000)
        #expect(Timestamp.parseMilliseconds("2026-11-20") == 1_795_132_800_000)
        #expect(Timestamp.parseMilliseconds("2024-02-29") != nil)
    }

    @Test(arguments: ["", "2026-13-01", "2026-02-30", "2025-02-29", "2026-11-20T25:00:00Z", "2026-11-20T10:00:00Q", "20261120", "2026-11-20T10:00:00.Z"])
    func refusesWhatIsNotATime(_ text: String) {
        #expect(Timestamp.parseMilliseconds(text) == nil)
    }

    @Test func agreesWithFoundation() {
        let formatter = ISO8601DateFormatter()
        for text in ["2000-02-29T23:59:59Z", "1999-12-31T00:00:01Z", "2038-01-19T03:14:08Z", "2100-03-01T12:00:00Z"] {
            let expected = Int64(formatter.date(from: text)!.timeIntervalSince1970 * 1000)
            #expect(Timestamp.parseMilliseconds(text) == expected, "\(text)")
        }
    }
}
