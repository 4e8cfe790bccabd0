import Activation

/// A small JSON writer for the store's own rows. Foundation's `JSONSerialization` bridges every
/// value through `NSObject` on Linux and took 40% of the ingest path's CPU (perf, `sfdest bench`);
/// this writes the few shapes the store keeps straight into a string.
struct JSONText {
    private(set) var text = ""

    init(capacity: Int = 256) {
        self.text.reserveCapacity(capacity)
    }

    mutating func string(_ value: String) {
        self.text.append("\"")
        var clean = true
        for byte in value.utf8 where byte < 0x20 || byte == 0x22 || byte == 0x5C {
            clean = false
            break
        }
        if clean {
            self.text.append(value)
        } else {
            for scalar in value.unicodeScalars {
                switch scalar {
                case "\"": self.text.append("\\\"")
                case "\\": self.text.append("\\\\")
                case "\n": self.text.append("\\n")
                case "\r": self.text.append("\\r")
                case "\t": self.text.append("\\t")
                case _ where scalar.value < 0x20:
                    let hex = String(scalar.value, radix: 16)
                    self.text.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
                default:
                    self.text.unicodeScalars.append(scalar)
                }
            }
        }
        self.text.append("\"")
    }

    mutating func value(_ value: FieldValue) {
        switch value {
        case .string(let text): self.string(text)
        case .integer(let number): self.text.append(String(number))
        case .double(let number): self.text.append(number.isFinite ? "\(number)" : "null")
        case .bool(let flag): self.text.append(flag ? "true" : "false")
        case .null: self.text.append("null")
        }
    }

    /// `{"key": value, ...}` with keys in sorted order (stable rows, comparable text).
    mutating func object<Value>(_ dictionary: [String: Value], _ write: (inout JSONText, Value) -> Void) {
        self.text.append("{")
        var first = true
        for key in dictionary.keys.sorted() {
            if !first { self.text.append(",") }
            first = false
            self.string(key)
            self.text.append(":")
            write(&self, dictionary[key]!)
        }
        self.text.append("}")
    }

    mutating func fields(_ fields: [String: FieldValue]) {
        self.object(fields) { writer, value in writer.value(value) }
    }

    mutating func strings(_ values: [String]) {
        self.text.append("[")
        for (index, value) in values.enumerated() {
            if index > 0 { self.text.append(",") }
            self.string(value)
        }
        self.text.append("]")
    }

    mutating func raw(_ text: String) {
        self.text.append(text)
    }
}
