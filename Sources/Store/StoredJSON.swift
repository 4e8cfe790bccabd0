import Activation
import SfdestJSON

/// The JSON forms the store keeps field values in (history, failures), and reads the profile
/// and queue rows of earlier versions in (they are written in `StoredBinary` now).
package enum StoredJSON {
    /// A list of strings (field names).
    package static func encode(_ strings: [String]) -> String {
        var writer = JSONWriter(capacity: 32)
        writer.strings(strings)
        return writer.text
    }

    /// A list of strings (field names) written by `encode(_:)`.
    package static func decodeStrings(_ text: String?) -> [String] {
        guard let text, case .array(let items)? = (try? JSONParser.parse(text)) else { return [] }
        return items.compactMap { item in
            if case .string(let value) = item { return value }
            return nil
        }
    }

    static func fields(from node: JSON?) -> [String: FieldValue] {
        guard case .object(let members)? = node else { return [:] }
        var result: [String: FieldValue] = [:]
        result.reserveCapacity(members.count)
        for (key, value) in members {
            if let field = FieldValue(json: value) { result[key] = field }
        }
        return result
    }

    package static func encodeFields(_ fields: [String: FieldValue]) -> String {
        String(decoding: self.fieldsBytes(fields), as: UTF8.self)
    }

    static func fieldsBytes(_ fields: [String: FieldValue]) -> [UInt8] {
        var writer = JSONWriter()
        writer.fields(fields)
        return writer.bytes
    }

    package static func decodeFields(_ text: String?) -> [String: FieldValue] { text.map { self.fields(from: (try? JSONParser.parse($0))) } ?? [:] }
    static func decodeFields(bytes: UnsafeRawBufferPointer?) -> [String: FieldValue] {
        bytes.map { self.fields(from: (try? JSONParser.parse($0))) } ?? [:]
    }

    static func decodeProfile(bytes: UnsafeRawBufferPointer) -> Profile {
        self.profile(from: try? JSONParser.parse(bytes))
    }

    static func profile(from node: JSON?) -> Profile {
        guard case .object(let members)? = node else { return Profile() }
        var profile = Profile()
        for (key, value) in members {
            switch key {
            case "i":
                guard case .object(let namespaces) = value else { continue }
                for (namespace, ids) in namespaces {
                    guard case .array(let items) = ids else { continue }
                    profile.identities[namespace] = items.compactMap { item in
                        if case .string(let id) = item { return id }
                        return nil
                    }
                }
            case "a":
                profile.attributes = self.fields(from: value)
            case "m":
                guard case .object(let audiences) = value else { continue }
                for (segment, entry) in audiences {
                    guard case .array(let pair) = entry, pair.count == 2, case .string(let statusText) = pair[0],
                          let status = AudienceStatus(rawValue: statusText), case .int(let time) = pair[1]
                    else { continue }
                    profile.memberships[segment] = AudienceMembership(status: status, lastQualificationTime: Int64(time))
                }
            default:
                continue
            }
        }
        return profile
    }

    static func decodePending(bytes: UnsafeRawBufferPointer?) -> PendingRecord? {
        bytes.flatMap { self.pending(from: try? JSONParser.parse($0)) }
    }

    static func pending(from node: JSON?) -> PendingRecord? {
        guard case .object(let members)? = node else { return nil }
        var entry = PendingRecord()
        for (key, value) in members {
            switch key {
            case "f": entry.fields = self.fields(from: value)
            case "i": entry.inFlight = self.fields(from: value)
            case "w": entry.waiting = self.counts(from: value)
            case "iw": entry.inFlightWaiting = self.counts(from: value)
            default: continue
            }
        }
        return entry
    }

    static func counts(from node: JSON) -> [Int64: Int] {
        guard case .object(let members) = node else { return [:] }
        var result: [Int64: Int] = [:]
        for (key, value) in members {
            if let hour = Int64(key), case .int(let count) = value { result[hour] = count }
        }
        return result
    }
}
