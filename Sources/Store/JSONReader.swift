import Activation

/// A JSON value as the store reads its own rows back.
enum JSONNode {
    case string(String)
    case integer(Int64)
    case double(Double)
    case bool(Bool)
    case null
    case array([JSONNode])
    case object([String: JSONNode])

    var fieldValue: FieldValue? {
        switch self {
        case .string(let text): return .string(text)
        case .integer(let number): return .integer(number)
        case .double(let number): return .double(number)
        case .bool(let flag): return .bool(flag)
        case .null: return .null
        case .array, .object: return nil
        }
    }
}

/// Reads the JSON the store wrote (`JSONText`) without Foundation's `JSONSerialization`, which
/// builds `NSDictionary`/`NSNumber` trees only to have them cast back. Strict: nil on anything
/// that is not one complete JSON value.
struct JSONReader {
    private let bytes: [UInt8]
    private var index = 0

    static func parse(_ text: String) -> JSONNode? {
        var reader = JSONReader(bytes: Array(text.utf8))
        guard let value = reader.value() else { return nil }
        reader.skipSpace()
        return reader.index == reader.bytes.count ? value : nil
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    private mutating func skipSpace() {
        while self.index < self.bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(self.bytes[self.index]) { self.index += 1 }
    }

    private mutating func value() -> JSONNode? {
        self.skipSpace()
        guard self.index < self.bytes.count else { return nil }
        switch self.bytes[self.index] {
        case UInt8(ascii: "{"): return self.object()
        case UInt8(ascii: "["): return self.array()
        case UInt8(ascii: "\""): return self.string().map(JSONNode.string)
        case UInt8(ascii: "t"): return self.literal("true", .bool(true))
        case UInt8(ascii: "f"): return self.literal("false", .bool(false))
        case UInt8(ascii: "n"): return self.literal("null", .null)
        default: return self.number()
        }
    }

    private mutating func literal(_ word: String, _ value: JSONNode) -> JSONNode? {
        let expected = Array(word.utf8)
        guard self.index + expected.count <= self.bytes.count, Array(self.bytes[self.index..<self.index + expected.count]) == expected else { return nil }
        self.index += expected.count
        return value
    }

    private mutating func object() -> JSONNode? {
        self.index += 1
        var members: [String: JSONNode] = [:]
        self.skipSpace()
        if self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "}") {
            self.index += 1
            return .object(members)
        }
        while true {
            self.skipSpace()
            guard self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "\""), let key = self.string() else { return nil }
            self.skipSpace()
            guard self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: ":") else { return nil }
            self.index += 1
            guard let value = self.value() else { return nil }
            members[key] = value
            self.skipSpace()
            guard self.index < self.bytes.count else { return nil }
            if self.bytes[self.index] == UInt8(ascii: ",") { self.index += 1; continue }
            guard self.bytes[self.index] == UInt8(ascii: "}") else { return nil }
            self.index += 1
            return .object(members)
        }
    }

    private mutating func array() -> JSONNode? {
        self.index += 1
        var items: [JSONNode] = []
        self.skipSpace()
        if self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "]") {
            self.index += 1
            return .array(items)
        }
        while true {
            guard let item = self.value() else { return nil }
            items.append(item)
            self.skipSpace()
            guard self.index < self.bytes.count else { return nil }
            if self.bytes[self.index] == UInt8(ascii: ",") { self.index += 1; continue }
            guard self.bytes[self.index] == UInt8(ascii: "]") else { return nil }
            self.index += 1
            return .array(items)
        }
    }

    /// A string starting at the opening quote; escapes decoded.
    private mutating func string() -> String? {
        self.index += 1
        let start = self.index
        // Fast path: no escapes.
        while self.index < self.bytes.count {
            let byte = self.bytes[self.index]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: self.bytes[start..<self.index], as: UTF8.self)
                self.index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            self.index += 1
        }
        var scalars = String.UnicodeScalarView()
        var utf8 = Array(self.bytes[start..<self.index])
        func flush() {
            scalars.append(contentsOf: String(decoding: utf8, as: UTF8.self).unicodeScalars)
            utf8.removeAll(keepingCapacity: true)
        }
        while self.index < self.bytes.count {
            let byte = self.bytes[self.index]
            self.index += 1
            switch byte {
            case UInt8(ascii: "\""):
                flush()
                return String(scalars)
            case UInt8(ascii: "\\"):
                guard self.index < self.bytes.count else { return nil }
                let escape = self.bytes[self.index]
                self.index += 1
                switch escape {
                case UInt8(ascii: "\""): utf8.append(0x22)
                case UInt8(ascii: "\\"): utf8.append(0x5C)
                case UInt8(ascii: "/"): utf8.append(0x2F)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "u"):
                    guard var code = self.hex4() else { return nil }
                    if (0xD800..<0xDC00).contains(code) {
                        guard self.index + 1 < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "\\"), self.bytes[self.index + 1] == UInt8(ascii: "u") else { return nil }
                        self.index += 2
                        guard let low = self.hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { return nil }
                    flush()
                    scalars.append(scalar)
                default:
                    return nil
                }
            default:
                utf8.append(byte)
            }
        }
        return nil
    }

    private mutating func hex4() -> UInt32? {
        guard self.index + 4 <= self.bytes.count else { return nil }
        var value: UInt32 = 0
        for byte in self.bytes[self.index..<self.index + 4] {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value * 16 + UInt32(digit)
        }
        self.index += 4
        return value
    }

    private mutating func number() -> JSONNode? {
        let start = self.index
        var isInteger = true
        while self.index < self.bytes.count {
            let byte = self.bytes[self.index]
            if (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") {
                self.index += 1
            } else if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                isInteger = false
                self.index += 1
            } else {
                break
            }
        }
        guard self.index > start else { return nil }
        let text = String(decoding: self.bytes[start..<self.index], as: UTF8.self)
        if isInteger, let integer = Int64(text) { return .integer(integer) }
        return Double(text).map(JSONNode.double)
    }
}
