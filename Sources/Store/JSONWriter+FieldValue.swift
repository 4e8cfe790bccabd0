import Activation

/// A small JSON writer for the store's own rows, straight into UTF-8 bytes (bound to SQLite as
/// text without an intermediate `String`). Foundation's `JSONSerialization` bridges every value
/// through `NSObject` on Linux and took 40% of the ingest path's CPU (perf, `sfdest bench`).
struct JSONText {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 256) {
        self.bytes.reserveCapacity(capacity)
    }

    var text: String { String(decoding: self.bytes, as: UTF8.self) }

    mutating func string(_ value: String) {
        self.bytes.append(0x22)
        var clean = true
        for byte in value.utf8 where byte < 0x20 || byte == 0x22 || byte == 0x5C {
            clean = false
            break
        }
        if clean {
            self.bytes.append(contentsOf: value.utf8)
        } else {
            for byte in value.utf8 {
                switch byte {
                case 0x22: self.raw("\\\"")
                case 0x5C: self.raw("\\\\")
                case 0x0A: self.raw("\\n")
                case 0x0D: self.raw("\\r")
                case 0x09: self.raw("\\t")
                case _ where byte < 0x20:
                    let hex = Array("0123456789abcdef".utf8)
                    self.raw("\\u00")
                    self.bytes.append(hex[Int(byte >> 4)])
                    self.bytes.append(hex[Int(byte & 0x0F)])
                default:
                    self.bytes.append(byte)
                }
            }
        }
        self.bytes.append(0x22)
    }

    mutating func value(_ value: FieldValue) {
        switch value {
        case .string(let text): self.string(text)
        case .integer(let number): self.raw(String(number))
        case .double(let number): self.raw(number.isFinite ? "\(number)" : "null")
        case .bool(let flag): self.raw(flag ? "true" : "false")
        case .null: self.raw("null")
        }
    }

    /// `{"key": value, ...}` with keys in sorted order (stable rows, comparable text).
    mutating func object<Value>(_ dictionary: [String: Value], _ write: (inout JSONText, Value) -> Void) {
        self.bytes.append(UInt8(ascii: "{"))
        var first = true
        for (key, value) in dictionary.sorted(by: { $0.key < $1.key }) {
            if !first { self.bytes.append(UInt8(ascii: ",")) }
            first = false
            self.string(key)
            self.bytes.append(UInt8(ascii: ":"))
            write(&self, value)
        }
        self.bytes.append(UInt8(ascii: "}"))
    }

    mutating func fields(_ fields: [String: FieldValue]) {
        self.object(fields) { writer, value in writer.value(value) }
    }

    mutating func strings(_ values: [String]) {
        self.bytes.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { self.bytes.append(UInt8(ascii: ",")) }
            self.string(value)
        }
        self.bytes.append(UInt8(ascii: "]"))
    }

    mutating func raw(_ text: String) {
        self.bytes.append(contentsOf: text.utf8)
    }
}
