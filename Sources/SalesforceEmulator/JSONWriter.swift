/// Serializes `JSONValue` to UTF-8 bytes without going through Foundation.
///
/// The emulator answers every collection request with up to 200 small objects; writing bytes
/// directly keeps it off the benchmarks' critical path.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 256) {
        self.bytes.reserveCapacity(capacity)
    }

    static func encode(_ value: JSONValue) -> [UInt8] {
        var writer = JSONWriter()
        writer.write(value)
        return writer.bytes
    }

    mutating func write(_ value: JSONValue) {
        switch value {
        case .null:
            self.bytes.append(contentsOf: "null".utf8)
        case .bool(let flag):
            self.bytes.append(contentsOf: (flag ? "true" : "false").utf8)
        case .int(let number):
            self.bytes.append(contentsOf: String(number).utf8)
        case .largeInteger(let digits):
            self.bytes.append(contentsOf: digits.utf8)
        case .double(let number):
            self.writeDouble(number)
        case .string(let text):
            self.writeString(text)
        case .array(let items):
            self.bytes.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { self.bytes.append(UInt8(ascii: ",")) }
                self.write(item)
            }
            self.bytes.append(UInt8(ascii: "]"))
        case .object(let pairs):
            self.bytes.append(UInt8(ascii: "{"))
            for (index, pair) in pairs.enumerated() {
                if index > 0 { self.bytes.append(UInt8(ascii: ",")) }
                self.writeString(pair.0)
                self.bytes.append(UInt8(ascii: ":"))
                self.write(pair.1)
            }
            self.bytes.append(UInt8(ascii: "}"))
        }
    }

    private mutating func writeDouble(_ number: Double) {
        guard number.isFinite else {
            self.bytes.append(contentsOf: "null".utf8)
            return
        }
        if number.rounded() == number, abs(number) < 1e15 {
            self.bytes.append(contentsOf: String(Int(number)).utf8)
        } else {
            self.bytes.append(contentsOf: "\(number)".utf8)
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    private mutating func writeString(_ text: String) {
        self.bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""):
                self.bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"):
                self.bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"):
                self.bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"):
                self.bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"):
                self.bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                self.bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                self.bytes.append(Self.hexDigits[Int(byte >> 4)])
                self.bytes.append(Self.hexDigits[Int(byte & 0x0F)])
            default:
                self.bytes.append(byte)
            }
        }
        self.bytes.append(UInt8(ascii: "\""))
    }
}
