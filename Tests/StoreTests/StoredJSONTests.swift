import Activation
import Foundation
import Testing
@testable import Store

@Suite("The store's JSON rows")
struct StoredJSONTests {
    @Test func fieldsRoundTripWithEveryKindOfTextAndNumber() {
        let fields: [String: FieldValue] = [
            "quote": .string("say \"hi\" \\ back"), "lines": .string("seg-a:realized\nseg-b:exited\r\t"),
            "control": .string("bell\u{07}nul\u{00}"), "unicode": .string("Zoë 日本 🚀 \u{2028}"),
            "int": .integer(-9_007_199_254_740_993), "double": .double(4.25), "whole": .double(2), "flag": .bool(false), "nothing": .null,
        ]
        let text = StoredJSON.encodeFields(fields)
        #expect(StoredJSON.decodeFields(text) == fields)
        #expect((try? JSONSerialization.jsonObject(with: Data(text.utf8))) != nil, "not valid JSON: \(text)")
    }

    static let profile = Profile(
        identities: ["crmID": ["003xx000004TmiQAAS"], "e\"mail": ["a@b.c", "d@e.f"]],
        attributes: [
            "person.name.lastName": .string("Lovelace"), "loyalty.points": .integer(12), "u": .string("Zoë 日本 🚀 \u{00}"),
            "min": .integer(.min), "d": .double(-0.0), "inf": .double(.infinity), "t": .bool(true), "n": .null, "": .string(""),
        ],
        memberships: ["seg-gold": AudienceMembership(status: .existing, lastQualificationTime: 1_795_168_800_123)]
    )
    static let pending = PendingRecord(
        fields: ["LastName": .string("B")], inFlight: ["LastName": .string("A"), "Email": .null],
        waiting: [1_795_168_800_000: 2], inFlightWaiting: [1_795_165_200_000: 1]
    )

    @Test func profilesAndPendingRecordsRoundTripInTheBinaryForm() {
        #expect(StoredBinary.profile(Self.profile).withUnsafeBytes(StoredBinary.decodeProfile) == Self.profile)
        #expect(StoredBinary.pending(Self.pending).withUnsafeBytes(StoredBinary.decodePending) == Self.pending)
        let settledSoon = PendingRecord(fields: ["A": .bool(true)])
        #expect(StoredBinary.pending(settledSoon).withUnsafeBytes(StoredBinary.decodePending) == settledSoon)
        let fields = Self.profile.attributes
        #expect(StoredBinary.fields(fields).withUnsafeBytes(StoredBinary.decodeFields) == fields)
        #expect(StoredBinary.fields([:]).withUnsafeBytes(StoredBinary.decodeFields) == [:])
        #expect(StoredBinary.decodeFields(nil) == [:])
        #expect(StoredBinary.decodePending(nil) == nil)
    }

    @Test func rowsWrittenAsJSONByEarlierVersionsAreStillRead() {
        let profile = #"{"i":{"crmID":["003xx000004TmiQAAS"]},"a":{"person.name.lastName":"Lovelace","loyalty.points":12},"m":{"seg-gold":["existing",1795168800123]}}"#
        #expect(Array(profile.utf8).withUnsafeBytes(StoredBinary.decodeProfile) == Profile(
            identities: ["crmID": ["003xx000004TmiQAAS"]],
            attributes: ["person.name.lastName": .string("Lovelace"), "loyalty.points": .integer(12)],
            memberships: ["seg-gold": AudienceMembership(status: .existing, lastQualificationTime: 1_795_168_800_123)]
        ))
        let pending = #"{"f":{"LastName":"B"},"w":{"1795168800000":2},"i":{"Email":null,"LastName":"A"},"iw":{"1795165200000":1}}"#
        #expect(Array(pending.utf8).withUnsafeBytes(StoredBinary.decodePending) == Self.pending)
        #expect(Array(#"{"Email":"a@b.c","N":1.5}"#.utf8).withUnsafeBytes(StoredBinary.decodeFields) == ["Email": .string("a@b.c"), "N": .double(1.5)])
    }

    @Test func damagedRowsReadAsEmptyWithoutCrashing() {
        let whole = StoredBinary.profile(Self.profile)
        // Every truncation and every single-byte change: never a crash, never a partial profile
        // passed off as whole (a truncation reads as empty).
        for length in 0..<whole.count {
            let cut = Array(whole.prefix(length))
            #expect(cut.withUnsafeBytes(StoredBinary.decodeProfile) == Profile())
        }
        for index in 1..<whole.count {
            var changed = whole
            changed[index] ^= 0xFF
            _ = changed.withUnsafeBytes(StoredBinary.decodeProfile)
        }
        let pending = StoredBinary.pending(Self.pending)
        for length in 1..<pending.count {
            #expect(Array(pending.prefix(length)).withUnsafeBytes(StoredBinary.decodePending) == nil)
        }
    }
}
