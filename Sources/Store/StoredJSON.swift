import Activation
import Foundation

/// The JSON forms the store keeps profiles, field values and queue entries in.
enum StoredJSON {
    /// A list of strings (field names).
    static func encode(_ strings: [String]) -> String {
        var writer = JSONText(capacity: 32)
        writer.strings(strings)
        return writer.text
    }

    static func decode(_ text: String) -> Any? {
        try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    static func fields(from object: Any?) -> [String: FieldValue] {
        guard let dictionary = object as? [String: Any] else { return [:] }
        var result: [String: FieldValue] = [:]
        for (key, value) in dictionary {
            if let field = FieldValue(json: value) { result[key] = field }
        }
        return result
    }

    static func encodeFields(_ fields: [String: FieldValue]) -> String {
        var writer = JSONText()
        writer.fields(fields)
        return writer.text
    }
    static func decodeFields(_ text: String?) -> [String: FieldValue] { text.map { self.fields(from: self.decode($0)) } ?? [:] }

    static func encodeProfile(_ profile: Profile) -> String {
        var writer = JSONText(capacity: 512)
        writer.raw("{\"i\":")
        writer.object(profile.identities) { writer, ids in writer.strings(ids) }
        writer.raw(",\"a\":")
        writer.fields(profile.attributes)
        writer.raw(",\"m\":")
        writer.object(profile.memberships) { writer, membership in
            writer.raw("[")
            writer.string(membership.status.rawValue)
            writer.raw(",\(membership.lastQualificationTime)]")
        }
        writer.raw("}")
        return writer.text
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
        var writer = JSONText()
        writer.raw("{\"f\":")
        writer.fields(entry.fields)
        writer.raw(",\"w\":")
        writer.raw(self.countsText(entry.waiting))
        if let inFlight = entry.inFlight {
            writer.raw(",\"i\":")
            writer.fields(inFlight)
            writer.raw(",\"iw\":")
            writer.raw(self.countsText(entry.inFlightWaiting))
        }
        writer.raw("}")
        return writer.text
    }

    static func countsText(_ counts: [Int64: Int]) -> String {
        "{" + counts.keys.sorted().map { "\"\($0)\":\(counts[$0]!)" }.joined(separator: ",") + "}"
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

    static func counts(from object: Any?) -> [Int64: Int] {
        guard let dictionary = object as? [String: Any] else { return [:] }
        var result: [Int64: Int] = [:]
        for (key, value) in dictionary {
            if let hour = Int64(key), let count = (value as? NSNumber)?.intValue { result[hour] = count }
        }
        return result
    }
}
