import Activation

/// The compact binary form of the rows every profile and every delivery rewrites: a profile's
/// body, and a record's pending entry and acknowledged values. Writing and reading JSON for them
/// (number formatting, escaping, sorting keys, building trees) took about 30% of the store
/// writer's time in `sfdest bench`; this is lengths and raw bytes.
///
/// Each value starts with a tag byte that JSON never starts with, so rows written as JSON by
/// earlier versions (they start with `{`) are still read. Anything malformed reads as empty,
/// as a damaged JSON row did.
package enum StoredBinary {
    static let profileTag: UInt8 = 0xB1
    static let fieldsTag: UInt8 = 0xB2
    static let pendingTag: UInt8 = 0xB3

    // MARK: writing

    package static func profile(_ profile: Profile) -> [UInt8] {
        var writer = Writer(tag: Self.profileTag, capacity: 256)
        writer.count(profile.identities.count)
        for (namespace, ids) in profile.identities {
            writer.string(namespace)
            writer.count(ids.count)
            for id in ids { writer.string(id) }
        }
        writer.fields(profile.attributes)
        writer.count(profile.memberships.count)
        for (segment, membership) in profile.memberships {
            writer.string(segment)
            writer.string(membership.status.rawValue)
            writer.int64(membership.lastQualificationTime)
        }
        return writer.bytes
    }

    package static func fields(_ fields: [String: FieldValue]) -> [UInt8] {
        var writer = Writer(tag: Self.fieldsTag, capacity: 128)
        writer.fields(fields)
        return writer.bytes
    }

    package static func pending(_ entry: PendingRecord) -> [UInt8] {
        var writer = Writer(tag: Self.pendingTag, capacity: 128)
        writer.fields(entry.fields)
        writer.counts(entry.waiting)
        if let inFlight = entry.inFlight {
            writer.byte(1)
            writer.fields(inFlight)
            writer.counts(entry.inFlightWaiting)
        } else {
            writer.byte(0)
        }
        return writer.bytes
    }

    // MARK: reading (binary, or JSON rows of earlier versions)

    package static func decodeProfile(_ bytes: UnsafeRawBufferPointer) -> Profile {
        guard bytes.first == Self.profileTag else { return StoredJSON.decodeProfile(bytes: bytes) }
        var reader = Reader(bytes)
        return reader.profile() ?? Profile()
    }

    package static func decodeFields(_ bytes: UnsafeRawBufferPointer?) -> [String: FieldValue] {
        guard let bytes else { return [:] }
        guard bytes.first == Self.fieldsTag else { return StoredJSON.decodeFields(bytes: bytes) }
        var reader = Reader(bytes)
        return reader.fields() ?? [:]
    }

    package static func decodePending(_ bytes: UnsafeRawBufferPointer?) -> PendingRecord? {
        guard let bytes else { return nil }
        guard bytes.first == Self.pendingTag else { return StoredJSON.decodePending(bytes: bytes) }
        var reader = Reader(bytes)
        return reader.pending()
    }

    struct Writer {
        private(set) var bytes: [UInt8] = []

        init(tag: UInt8, capacity: Int) {
            self.bytes.reserveCapacity(capacity)
            self.bytes.append(tag)
        }

        mutating func byte(_ value: UInt8) {
            self.bytes.append(value)
        }

        /// A non-negative count or length, 7 bits a byte.
        mutating func count(_ value: Int) {
            var rest = UInt(max(0, value))
            while rest >= 0x80 {
                self.bytes.append(UInt8(rest & 0x7F) | 0x80)
                rest >>= 7
            }
            self.bytes.append(UInt8(rest))
        }

        mutating func int64(_ value: Int64) {
            withUnsafeBytes(of: value.littleEndian) { self.bytes.append(contentsOf: $0) }
        }

        mutating func string(_ value: String) {
            self.count(value.utf8.count)
            self.bytes.append(contentsOf: value.utf8)
        }

        mutating func value(_ value: FieldValue) {
            switch value {
            case .null: self.byte(0)
            case .bool(let flag): self.byte(flag ? 2 : 1)
            case .integer(let number):
                self.byte(3)
                self.int64(number)
            case .double(let number):
                self.byte(4)
                self.int64(Int64(bitPattern: number.bitPattern))
            case .string(let text):
                self.byte(5)
                self.string(text)
            }
        }

        mutating func fields(_ fields: [String: FieldValue]) {
            self.count(fields.count)
            for (key, value) in fields {
                self.string(key)
                self.value(value)
            }
        }

        mutating func counts(_ counts: [Int64: Int]) {
            self.count(counts.count)
            for (hour, count) in counts {
                self.int64(hour)
                self.count(count)
            }
        }
    }

    struct Reader {
        private let bytes: UnsafeRawBufferPointer
        /// After the tag byte.
        private var index = 1

        init(_ bytes: UnsafeRawBufferPointer) {
            self.bytes = bytes
        }

        mutating func byte() -> UInt8? {
            guard self.index < self.bytes.count else { return nil }
            defer { self.index += 1 }
            return self.bytes[self.index]
        }

        mutating func count() -> Int? {
            var value: UInt = 0
            var shift: UInt = 0
            while let byte = self.byte() {
                value |= UInt(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value <= UInt(Int.max) ? Int(value) : nil }
                shift += 7
                if shift > 63 { return nil }
            }
            return nil
        }

        mutating func int64() -> Int64? {
            guard self.index + 8 <= self.bytes.count else { return nil }
            var value: Int64 = 0
            withUnsafeMutableBytes(of: &value) { target in
                target.copyMemory(from: UnsafeRawBufferPointer(rebasing: self.bytes[self.index..<self.index + 8]))
            }
            self.index += 8
            return Int64(littleEndian: value)
        }

        mutating func string() -> String? {
            guard let length = self.count(), length <= self.bytes.count - self.index else { return nil }
            defer { self.index += length }
            return String(decoding: UnsafeRawBufferPointer(rebasing: self.bytes[self.index..<self.index + length]), as: UTF8.self)
        }

        mutating func value() -> FieldValue? {
            switch self.byte() {
            case 0: return .null
            case 1: return .bool(false)
            case 2: return .bool(true)
            case 3: return self.int64().map(FieldValue.integer)
            case 4: return self.int64().map { .double(Double(bitPattern: UInt64(bitPattern: $0))) }
            case 5: return self.string().map(FieldValue.string)
            default: return nil
            }
        }

        mutating func fields() -> [String: FieldValue]? {
            guard let count = self.count(), count <= self.bytes.count else { return nil }
            var fields: [String: FieldValue] = [:]
            fields.reserveCapacity(count)
            for _ in 0..<count {
                guard let key = self.string(), let value = self.value() else { return nil }
                fields[key] = value
            }
            return fields
        }

        mutating func counts() -> [Int64: Int]? {
            guard let count = self.count(), count <= self.bytes.count else { return nil }
            var counts: [Int64: Int] = [:]
            for _ in 0..<count {
                guard let hour = self.int64(), let value = self.count() else { return nil }
                counts[hour] = value
            }
            return counts
        }

        mutating func profile() -> Profile? {
            var profile = Profile()
            guard let namespaces = self.count(), namespaces <= self.bytes.count else { return nil }
            for _ in 0..<namespaces {
                guard let namespace = self.string(), let idCount = self.count(), idCount <= self.bytes.count else { return nil }
                var ids: [String] = []
                ids.reserveCapacity(idCount)
                for _ in 0..<idCount {
                    guard let id = self.string() else { return nil }
                    ids.append(id)
                }
                profile.identities[namespace] = ids
            }
            guard let attributes = self.fields() else { return nil }
            profile.attributes = attributes
            guard let memberships = self.count(), memberships <= self.bytes.count else { return nil }
            for _ in 0..<memberships {
                guard let segment = self.string(), let statusText = self.string(), let status = AudienceStatus(rawValue: statusText),
                      let time = self.int64()
                else { return nil }
                profile.memberships[segment] = AudienceMembership(status: status, lastQualificationTime: time)
            }
            return profile
        }

        mutating func pending() -> PendingRecord? {
            var entry = PendingRecord()
            guard let fields = self.fields(), let waiting = self.counts(), let hasInFlight = self.byte() else { return nil }
            entry.fields = fields
            entry.waiting = waiting
            if hasInFlight == 1 {
                guard let inFlight = self.fields(), let inFlightWaiting = self.counts() else { return nil }
                entry.inFlight = inFlight
                entry.inFlightWaiting = inFlightWaiting
            }
            return entry
        }
    }
}
