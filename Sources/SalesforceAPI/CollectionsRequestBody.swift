import NIOCore

/// Builds the sObject Collections body
/// `{"allOrNone":false,"records":[{"attributes":{"type":"Contact"},"id":"...","Field":value}]}`
/// straight into bytes: no Codable, no intermediate dictionaries (it sits on the delivery hot path).
enum CollectionsRequestBody {
    /// The encoded body, or `INVALID_FIELD_VALUE` for a number JSON cannot carry (NaN, infinity).
    static func encode(_ records: [SObjectRecord], allOrNone: Bool) throws(SalesforceError) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 64 + records.count * 160)
        buffer.writeStaticString(allOrNone ? #"{"allOrNone":true,"records":["# : #"{"allOrNone":false,"records":["#)
        for (index, record) in records.enumerated() {
            if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            buffer.writeStaticString(#"{"attributes":{"type":"#)
            Self.writeString(record.objectType, into: &buffer)
            buffer.writeStaticString("}")
            if let id = record.id {
                buffer.writeStaticString(#","id":"#)
                Self.writeString(id, into: &buffer)
            }
            for field in record.fields {
                buffer.writeInteger(UInt8(ascii: ","))
                Self.writeString(field.name, into: &buffer)
                buffer.writeInteger(UInt8(ascii: ":"))
                try Self.writeValue(field.value, field: field.name, into: &buffer)
            }
            buffer.writeInteger(UInt8(ascii: "}"))
        }
        buffer.writeStaticString("]}")
        return buffer
    }

    static func writeValue(_ value: FieldValue, field: String, into buffer: inout ByteBuffer) throws(SalesforceError) {
        switch value {
        case .string(let text):
            Self.writeString(text, into: &buffer)
        case .integer(let whole):
            buffer.writeString(String(whole))
        case .number(let number):
            guard number.isFinite else {
                throw SalesforceError.invalidRequest(
                    code: "INVALID_FIELD_VALUE", message: "\(field): \(number) is not a number JSON can carry"
                )
            }
            buffer.writeString(number.description)
        case .bool(let flag):
            buffer.writeStaticString(flag ? "true" : "false")
        case .null:
            buffer.writeStaticString("null")
        }
    }

    /// Writes `text` as a JSON string: quotes, backslashes and control characters escaped, all other
    /// UTF-8 passed through. Runs without escapes are copied in one piece.
    static func writeString(_ text: String, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            var runStart = 0
            for index in 0..<bytes.count {
                let byte = bytes[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                if runStart < index { buffer.writeBytes(UnsafeBufferPointer(rebasing: bytes[runStart..<index])) }
                Self.writeEscape(for: byte, into: &buffer)
                runStart = index + 1
            }
            if runStart < bytes.count { buffer.writeBytes(UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count])) }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    private static func writeEscape(for byte: UInt8, into buffer: inout ByteBuffer) {
        switch byte {
        case UInt8(ascii: "\""): buffer.writeStaticString(#"\""#)
        case UInt8(ascii: "\\"): buffer.writeStaticString(#"\\"#)
        case UInt8(ascii: "\n"): buffer.writeStaticString(#"\n"#)
        case UInt8(ascii: "\r"): buffer.writeStaticString(#"\r"#)
        case UInt8(ascii: "\t"): buffer.writeStaticString(#"\t"#)
        case 0x08: buffer.writeStaticString(#"\b"#)
        case 0x0C: buffer.writeStaticString(#"\f"#)
        default:
            let hex: StaticString = "0123456789abcdef"
            buffer.writeStaticString(#"\u00"#)
            buffer.writeInteger(hex.utf8Start[Int(byte >> 4)])
            buffer.writeInteger(hex.utf8Start[Int(byte & 0x0F)])
        }
    }
}
