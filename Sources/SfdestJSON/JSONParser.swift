import Foundation

/// Why a document is not JSON, and where.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case syntax
        /// Arrays and objects nest deeper than the parser's limit.
        case tooDeep
    }

    public var kind: Kind
    /// The byte offset in the document where reading stopped.
    public var offset: Int
    public var message: String

    public var description: String { "\(self.message) at byte \(self.offset)" }
}

/// A strict RFC 8259 JSON parser over UTF-8 bytes.
///
/// Strict where Foundation's `JSONSerialization` is strict (the grammar, invalid UTF-8, lone
/// surrogates, control characters in strings, numbers out of range, trailing bytes) and a
/// multiple faster: it reads the bytes in place and builds `JSON` directly, where
/// `JSONSerialization` builds `NSDictionary`/`NSNumber` trees that callers then cast back.
/// Any value may be the document (a bare string or number too); a leading UTF-8 BOM is skipped.
public enum JSONParser {
    /// Parses one complete document. `maxDepth` bounds the nesting of arrays and objects (and so
    /// the parser's recursion).
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 512) throws(JSONParseError) -> JSON {
        guard let base = bytes.baseAddress, !bytes.isEmpty else {
            throw JSONParseError(kind: .syntax, offset: 0, message: "Unexpected end of input: the document is empty")
        }
        var reader = Reader(base: base.assumingMemoryBound(to: UInt8.self), count: bytes.count, maxDepth: maxDepth)
        return try reader.document()
    }

    public static func parse(_ data: Data, maxDepth: Int = 512) throws(JSONParseError) -> JSON {
        let result: Result<JSON, JSONParseError> = data.withUnsafeBytes { raw in
            do throws(JSONParseError) { return .success(try Self.parse(raw, maxDepth: maxDepth)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    public static func parse(_ bytes: some Sequence<UInt8>, maxDepth: Int = 512) throws(JSONParseError) -> JSON {
        let result: Result<JSON, JSONParseError>? = bytes.withContiguousStorageIfAvailable { buffer in
            do throws(JSONParseError) {
                return .success(try Self.parse(UnsafeRawBufferPointer(buffer), maxDepth: maxDepth))
            } catch {
                return .failure(error)
            }
        }
        if let result { return try result.get() }
        return try Self.parse(Array(bytes), maxDepth: maxDepth)
    }

    public static func parse(_ text: String, maxDepth: Int = 512) throws(JSONParseError) -> JSON {
        var text = text
        let result: Result<JSON, JSONParseError> = text.withUTF8 { buffer in
            do throws(JSONParseError) {
                return .success(try Self.parse(UnsafeRawBufferPointer(buffer), maxDepth: maxDepth))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

private let quote = UInt8(ascii: "\"")
private let backslash = UInt8(ascii: "\\")

/// The parser's cursor. Unchecked pointer reads are guarded by explicit bounds checks on `index`.
private struct Reader {
    let base: UnsafePointer<UInt8>
    let count: Int
    let maxDepth: Int
    var index = 0
    var depth = 0

    init(base: UnsafePointer<UInt8>, count: Int, maxDepth: Int) {
        self.base = base
        self.count = count
        self.maxDepth = maxDepth
    }

    mutating func document() throws(JSONParseError) -> JSON {
        if self.count >= 3, self.base[0] == 0xEF, self.base[1] == 0xBB, self.base[2] == 0xBF { self.index = 3 }
        let value = try self.value()
        self.skipSpace()
        guard self.index == self.count else {
            throw self.failure("Unexpected \(self.describeByte()) after the JSON value")
        }
        return value
    }

    func failure(_ message: String, at offset: Int? = nil, kind: JSONParseError.Kind = .syntax) -> JSONParseError {
        JSONParseError(kind: kind, offset: offset ?? self.index, message: message)
    }

    func describeByte() -> String {
        guard self.index < self.count else { return "end of input" }
        let byte = self.base[self.index]
        if byte >= 0x20 && byte < 0x7F { return "character '\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }

    @inline(__always)
    mutating func skipSpace() {
        while self.index < self.count {
            switch self.base[self.index] {
            case 0x20, 0x0A, 0x0D, 0x09: self.index += 1
            default: return
            }
        }
    }

    mutating func value() throws(JSONParseError) -> JSON {
        self.skipSpace()
        guard self.index < self.count else { throw self.failure("Unexpected end of input: a value was expected") }
        switch self.base[self.index] {
        case UInt8(ascii: "{"): return try self.object()
        case UInt8(ascii: "["): return try self.array()
        case quote: return .string(try self.string())
        case UInt8(ascii: "t"): try self.literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try self.literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try self.literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try self.number()
        default: throw self.failure("Unexpected \(self.describeByte()): a value was expected")
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let length = word.utf8CodeUnitCount
        guard self.index + length <= self.count,
              memcmp(self.base + self.index, word.utf8Start, length) == 0
        else { throw self.failure("Unexpected \(self.describeByte()): a value was expected") }
        self.index += length
    }

    mutating func enter() throws(JSONParseError) {
        self.depth += 1
        guard self.depth <= self.maxDepth else {
            throw self.failure("Arrays and objects nest deeper than \(self.maxDepth) levels", kind: .tooDeep)
        }
        self.index += 1
    }

    mutating func object() throws(JSONParseError) -> JSON {
        try self.enter()
        var members: [(String, JSON)] = []
        self.skipSpace()
        if self.index < self.count, self.base[self.index] == UInt8(ascii: "}") {
            self.index += 1
            self.depth -= 1
            return .object(members)
        }
        while true {
            self.skipSpace()
            guard self.index < self.count, self.base[self.index] == quote else {
                throw self.failure("Unexpected \(self.describeByte()): an object member name (a string) was expected")
            }
            let key = try self.string()
            self.skipSpace()
            guard self.index < self.count, self.base[self.index] == UInt8(ascii: ":") else {
                throw self.failure("Unexpected \(self.describeByte()): ':' was expected after an object member name")
            }
            self.index += 1
            members.append((key, try self.value()))
            self.skipSpace()
            guard self.index < self.count else { throw self.failure("Unexpected end of input: ',' or '}' was expected") }
            let byte = self.base[self.index]
            self.index += 1
            if byte == UInt8(ascii: ",") { continue }
            guard byte == UInt8(ascii: "}") else {
                self.index -= 1
                throw self.failure("Unexpected \(self.describeByte()): ',' or '}' was expected")
            }
            self.depth -= 1
            return .object(members)
        }
    }

    mutating func array() throws(JSONParseError) -> JSON {
        try self.enter()
        var items: [JSON] = []
        self.skipSpace()
        if self.index < self.count, self.base[self.index] == UInt8(ascii: "]") {
            self.index += 1
            self.depth -= 1
            return .array(items)
        }
        while true {
            items.append(try self.value())
            self.skipSpace()
            guard self.index < self.count else { throw self.failure("Unexpected end of input: ',' or ']' was expected") }
            let byte = self.base[self.index]
            self.index += 1
            if byte == UInt8(ascii: ",") { continue }
            guard byte == UInt8(ascii: "]") else {
                self.index -= 1
                throw self.failure("Unexpected \(self.describeByte()): ',' or ']' was expected")
            }
            self.depth -= 1
            return .array(items)
        }
    }

    /// A string starting at its opening quote.
    mutating func string() throws(JSONParseError) -> String {
        let open = self.index
        self.index += 1
        let start = self.index
        var high: UInt8 = 0
        while self.index < self.count {
            let byte = self.base[self.index]
            if byte == quote {
                let bytes = UnsafeBufferPointer(start: self.base + start, count: self.index - start)
                self.index += 1
                if high & 0x80 == 0 { return String(decoding: bytes, as: UTF8.self) }
                guard let text = String(validating: bytes, as: UTF8.self) else {
                    throw self.failure("Invalid UTF-8 in the string", at: open)
                }
                return text
            }
            if byte == backslash { return try self.escapedString(open: open, start: start) }
            if byte < 0x20 { throw self.failure("Unescaped control character 0x\(String(byte, radix: 16, uppercase: true)) in a string") }
            high |= byte
            self.index += 1
        }
        throw self.failure("Unexpected end of input: the string opened at byte \(open) is not closed")
    }

    /// The rest of a string that holds escapes, from `start` (its first byte) on.
    mutating func escapedString(open: Int, start: Int) throws(JSONParseError) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(self.index - start + 16)
        bytes.append(contentsOf: UnsafeBufferPointer(start: self.base + start, count: self.index - start))
        while self.index < self.count {
            let byte = self.base[self.index]
            self.index += 1
            switch byte {
            case quote:
                guard let text = String(validating: bytes, as: UTF8.self) else {
                    throw self.failure("Invalid UTF-8 in the string", at: open)
                }
                return text
            case backslash:
                guard self.index < self.count else { break }
                let escape = self.base[self.index]
                self.index += 1
                switch escape {
                case quote: bytes.append(quote)
                case backslash: bytes.append(backslash)
                case UInt8(ascii: "/"): bytes.append(UInt8(ascii: "/"))
                case UInt8(ascii: "n"): bytes.append(0x0A)
                case UInt8(ascii: "r"): bytes.append(0x0D)
                case UInt8(ascii: "t"): bytes.append(0x09)
                case UInt8(ascii: "b"): bytes.append(0x08)
                case UInt8(ascii: "f"): bytes.append(0x0C)
                case UInt8(ascii: "u"):
                    UTF8.encode(try self.unicodeEscape()) { bytes.append($0) }
                default:
                    throw self.failure("Invalid escape '\\\(Character(Unicode.Scalar(escape)))' in a string", at: self.index - 2)
                }
            default:
                if byte < 0x20 {
                    throw self.failure("Unescaped control character 0x\(String(byte, radix: 16, uppercase: true)) in a string", at: self.index - 1)
                }
                bytes.append(byte)
            }
        }
        throw self.failure("Unexpected end of input: the string opened at byte \(open) is not closed")
    }

    /// `\uXXXX` after its `\u`, with a following low surrogate when this is a high one.
    mutating func unicodeEscape() throws(JSONParseError) -> Unicode.Scalar {
        let at = self.index - 2
        let first = try self.hex4()
        var code = first
        if (0xD800..<0xDC00).contains(first) {
            guard self.index + 1 < self.count, self.base[self.index] == backslash, self.base[self.index + 1] == UInt8(ascii: "u") else {
                throw self.failure("A lone surrogate \\u\(String(first, radix: 16, uppercase: true)) in a string", at: at)
            }
            self.index += 2
            let low = try self.hex4()
            guard (0xDC00..<0xE000).contains(low) else {
                throw self.failure("A lone surrogate \\u\(String(first, radix: 16, uppercase: true)) in a string", at: at)
            }
            code = 0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let scalar = Unicode.Scalar(code) else {
            throw self.failure("A lone surrogate \\u\(String(first, radix: 16, uppercase: true)) in a string", at: at)
        }
        return scalar
    }

    mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard self.index + 4 <= self.count else { throw self.failure("Unexpected end of input in a \\u escape") }
        var value: UInt32 = 0
        for offset in 0..<4 {
            let byte = self.base[self.index + offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw self.failure("Invalid \\u escape: four hexadecimal digits were expected", at: self.index + offset)
            }
            value = value << 4 | UInt32(digit)
        }
        self.index += 4
        return value
    }

    @inline(__always)
    func isDigit(_ offset: Int) -> Bool {
        offset < self.count && self.base[offset] >= UInt8(ascii: "0") && self.base[offset] <= UInt8(ascii: "9")
    }

    /// `-? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?`
    mutating func number() throws(JSONParseError) -> JSON {
        let start = self.index
        let negative = self.base[self.index] == UInt8(ascii: "-")
        if negative { self.index += 1 }
        guard self.isDigit(self.index) else { throw self.failure("Invalid number: a digit was expected") }
        var magnitude: UInt64 = 0
        var overflow = false
        if self.base[self.index] == UInt8(ascii: "0") {
            self.index += 1
            if self.isDigit(self.index) { throw self.failure("Invalid number: a leading zero") }
        } else {
            while self.isDigit(self.index) {
                let digit = UInt64(self.base[self.index] - UInt8(ascii: "0"))
                let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(digit)
                if o1 || o2 { overflow = true } else { magnitude = sum }
                self.index += 1
            }
        }
        var isInteger = true
        if self.index < self.count, self.base[self.index] == UInt8(ascii: ".") {
            isInteger = false
            self.index += 1
            guard self.isDigit(self.index) else { throw self.failure("Invalid number: a digit was expected after '.'") }
            while self.isDigit(self.index) { self.index += 1 }
        }
        if self.index < self.count, self.base[self.index] | 0x20 == UInt8(ascii: "e") {
            isInteger = false
            self.index += 1
            if self.index < self.count, self.base[self.index] == UInt8(ascii: "+") || self.base[self.index] == UInt8(ascii: "-") { self.index += 1 }
            guard self.isDigit(self.index) else { throw self.failure("Invalid number: a digit was expected in the exponent") }
            while self.isDigit(self.index) { self.index += 1 }
        }
        if isInteger, !overflow {
            if !negative, magnitude <= UInt64(Int.max) { return .int(Int(magnitude)) }
            if negative, magnitude <= UInt64(Int.max) + 1 { return .int(magnitude == UInt64(Int.max) + 1 ? Int.min : -Int(magnitude)) }
        }
        let text = String(decoding: UnsafeBufferPointer(start: self.base + start, count: self.index - start), as: UTF8.self)
        if isInteger { return .largeInteger(text) }
        guard let value = Double(text), value.isFinite else {
            throw self.failure("Number \(text) is out of range", at: start)
        }
        return .double(value)
    }
}
