import NIOCore

/// Writes the CSV of a Bulk API 2.0 upload: RFC 4180, comma delimited, LF line endings, UTF-8.
///
/// Cells: nil is an empty cell (Salesforce leaves the field unchanged); `.null` is `#N/A` (Salesforce
/// sets the field to null); an empty string is `#N/A` too (sObject Collections store `""` as null,
/// while an empty cell would leave the old value, so the two paths would disagree); numbers are
/// written without exponents (`0.00001`, not `1e-05`); non-finite numbers are written as `NaN` or
/// `Infinity` so Salesforce refuses that row visibly rather than the value being dropped.
/// A cell is quoted, its quotes doubled, when it holds a comma, a quote, CR or LF.
public enum BulkCSV {
    /// RFC 4180 CSV, LF line ending, header = `columns`; a nil cell is empty (Salesforce leaves the field
    /// unchanged), `.null` is `#N/A` (sets it to null), strings quoted when they hold `,` `"` CR or LF.
    /// Every row must have one cell per column.
    public static func encode(columns: [String], rows: [[FieldValue?]]) -> ByteBuffer {
        let header = columns.map { FieldValue?.some(.string($0)) }
        var capacity = Self.encodedSize(header)
        for row in rows.prefix(64) { capacity += Self.encodedSize(row) }
        if rows.count > 64 { capacity = capacity / 65 * (rows.count + 1) }
        var buffer = ByteBufferAllocator().buffer(capacity: capacity)
        Self.write(header, into: &buffer)
        for row in rows {
            precondition(row.count == columns.count, "a CSV row has \(row.count) cells for \(columns.count) columns")
            Self.write(row, into: &buffer)
        }
        return buffer
    }

    /// Bytes one row would take (for the 100 MB per job cap), without building it: its cells,
    /// the commas between them and the line ending.
    public static func encodedSize(_ row: [FieldValue?]) -> Int {
        var size = max(row.count - 1, 0) + 1
        for cell in row {
            switch Self.cell(cell) {
            case .plain(let text): size += text.utf8.count
            case .quoted(let text): size += 2 + text.utf8.count + text.utf8.lazy.filter { $0 == UInt8(ascii: "\"") }.count
            }
        }
        return size
    }

    /// A header row with these columns' bytes (the same as ``encodedSize(_:)`` of the names as strings).
    public static func headerSize(columns: [String]) -> Int {
        Self.encodedSize(columns.map { .string($0) })
    }

    private enum Cell {
        case plain(String)
        case quoted(String)
    }

    private static func cell(_ value: FieldValue?) -> Cell {
        guard let value else { return .plain("") }
        switch value {
        case .null: return .plain("#N/A")
        case .string(let text):
            if text.isEmpty { return .plain("#N/A") }
            return Self.needsQuotes(text) ? .quoted(text) : .plain(text)
        case .integer(let whole): return .plain(String(whole))
        case .number(let number): return .plain(Self.plainNumber(number))
        case .bool(let flag): return .plain(flag ? "true" : "false")
        }
    }

    private static func needsQuotes(_ text: String) -> Bool {
        text.utf8.contains { byte in
            byte == UInt8(ascii: ",") || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n")
        }
    }

    private static func write(_ row: [FieldValue?], into buffer: inout ByteBuffer) {
        for (index, value) in row.enumerated() {
            if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            switch Self.cell(value) {
            case .plain(let text):
                buffer.writeString(text)
            case .quoted(let text):
                buffer.writeInteger(UInt8(ascii: "\""))
                for byte in text.utf8 {
                    if byte == UInt8(ascii: "\"") { buffer.writeInteger(byte) }
                    buffer.writeInteger(byte)
                }
                buffer.writeInteger(UInt8(ascii: "\""))
            }
        }
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    /// The shortest decimal that reads back as `number`, without an exponent: `1e+20` becomes
    /// `100000000000000000000`, `1e-05` becomes `0.00001`, `100.0` becomes `100`.
    static func plainNumber(_ number: Double) -> String {
        guard number.isFinite else { return number.isNaN ? "NaN" : (number < 0 ? "-Infinity" : "Infinity") }
        let text = number.description
        guard let exponentMark = text.firstIndex(where: { $0 == "e" || $0 == "E" }),
              let exponent = Int(text[text.index(after: exponentMark)...])
        else {
            return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
        }
        var mantissa = Substring(text[..<exponentMark])
        let negative = mantissa.hasPrefix("-")
        if negative { mantissa = mantissa.dropFirst() }
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        let whole = parts.first.map(String.init) ?? ""
        let fraction = parts.count > 1 ? String(parts[1]) : ""
        var digits = whole + fraction
        var point = whole.count + exponent
        while digits.count > 1, digits.first == "0" {
            digits.removeFirst()
            point -= 1
        }
        while digits.count > 1, digits.last == "0", digits.count > point { digits.removeLast() }
        let plain: String
        if point <= 0 {
            plain = "0." + String(repeating: "0", count: -point) + digits
        } else if point >= digits.count {
            plain = digits + String(repeating: "0", count: point - digits.count)
        } else {
            let split = digits.index(digits.startIndex, offsetBy: point)
            plain = String(digits[..<split]) + "." + String(digits[split...])
        }
        return negative ? "-" + plain : plain
    }
}
