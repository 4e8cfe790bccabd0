import Activation
import Foundation

/// The JSON forms the store keeps profiles, field values and queue entries in.
enum StoredJSON {
    static func encode(_ object: Any) -> String {
        // Only dictionaries, arrays, strings, numbers and NSNull reach here: cannot fail.
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.fragmentsAllowed])) ?? Data("null".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func decode(_ text: String) -> Any? {
        try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    static func fieldsObject(_ fields: [String: FieldValue]) -> [String: Any] {
        fields.mapValues(\.jsonObject)
    }

    static func fields(from object: Any?) -> [String: FieldValue] {
        guard let dictionary = object as? [String: Any] else { return [:] }
        var result: [String: FieldValue] = [:]
        for (key, value) in dictionary {
            if let field = FieldValue(json: value) { result[key] = field }
        }
        return result
    }

    static func encodeFields(_ fields: [String: FieldValue]) -> String { self.encode(self.fieldsObject(fields)) }
    static func decodeFields(_ text: String?) -> [String: FieldValue] { text.map { self.fields(from: self.decode($0)) } ?? [:] }

    static func encodeProfile(_ profile: Profile) -> String {
        let memberships = profile.memberships.mapValues { [$0.status.rawValue, NSNumber(value: $0.lastQualificationTime)] as [Any] }
        return self.encode(["i": profile.identities, "a": self.fieldsObject(profile.attributes), "m": memberships] as [String: Any])
    }

    static func decodeProfile(_ text: String) -> Profile {
        guard let object = self.decode(text) as? [String: Any] else { return Profile() }
        var profile = Profile()
        profile.identities = object["i"] as? [String: [String]] ?? [:]
        profile.attributes = self.fields(from: object["a"])
        for (segment, value) in object["m"] as? [String: [Any]] ?? [:] {
            guard value.count == 2, let status = (value[0] as? String).flatMap(AudienceStatus.init(rawValue:)),
                  let time = (value[1] as? NSNumber)?.int64Value
            else { continue }
            profile.memberships[segment] = AudienceMembership(status: status, lastQualificationTime: time)
        }
        return profile
    }

    static func encodePending(_ entry: PendingRecord) -> String {
        var object: [String: Any] = ["f": self.fieldsObject(entry.fields), "w": self.countsObject(entry.waiting)]
        if let inFlight = entry.inFlight {
            object["i"] = self.fieldsObject(inFlight)
            object["iw"] = self.countsObject(entry.inFlightWaiting)
        }
        return self.encode(object)
    }

    static func decodePending(_ text: String?) -> PendingRecord? {
        guard let text, let object = self.decode(text) as? [String: Any] else { return nil }
        return PendingRecord(
            fields: self.fields(from: object["f"]),
            inFlight: object["i"].map { self.fields(from: $0) },
            waiting: self.counts(from: object["w"]),
            inFlightWaiting: self.counts(from: object["iw"])
        )
    }

    static func countsObject(_ counts: [Int64: Int]) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: counts.map { (String($0.key), $0.value) })
    }

    static func counts(from object: Any?) -> [Int64: Int] {
        guard let dictionary = object as? [String: Any] else { return [:] }
        var result: [Int64: Int] = [:]
        for (key, value) in dictionary {
            if let hour = Int64(key), let count = (value as? NSNumber)?.intValue { result[hour] = count }
        }
        return result
    }
}
