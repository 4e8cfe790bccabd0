import Activation
import SfdestJSON

/// The store's rows (history, failures) hold field values as JSON, written straight into UTF-8
/// bytes (bound to SQLite as text without an intermediate `String`) by the shared writer, with its
/// number rule: a double always reads back as a double (`1.0`), so "unchanged" stays unchanged.
extension JSONWriter {
    mutating func value(_ value: FieldValue) {
        switch value {
        case .string(let text): self.string(text)
        case .integer(let number): self.int(Int(number))
        case .double(let number): self.double(number)
        case .bool(let flag): self.bool(flag)
        case .null: self.null()
        }
    }

    /// `{"name": value, ...}` with the names in sorted order.
    mutating func fields(_ fields: [String: FieldValue]) {
        self.object(fields) { writer, value in writer.value(value) }
    }
}
