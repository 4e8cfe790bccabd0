/// Writes JSON as UTF-8 bytes, straight into one growing buffer: no Foundation, and no
/// intermediate `String` but the shortest form of a `Double` (`Double.description`, small).
///
/// The one writer of the project: the service's answers, the emulator's answers (up to 200 small
/// objects per collection request) and the store's rows are written with it; the last two are on
/// the benchmarks' hot paths.
///
/// What it writes, so that `JSONParser` reads back the same value in the same case:
/// - `int` as its digits; `largeInteger` as written (its digits);
/// - `double` in the shortest form that reads back as the same `Double`, always with a fraction
///   or an exponent (`1.0`, `-0.0`, `0.1`, `1e+300`, `5e-324`), so it is never read back as an
///   `int`; an infinity or NaN, which JSON cannot hold, as `null`;
/// - strings with `"`, `\`, `\n`, `\r`, `\t` escaped as such, other control characters as
///   `\u00XX`, everything else as UTF-8 (a string with nothing to escape is copied at once);
/// - objects with their members in order, no spaces anywhere.
public struct JSONWriter: Sendable {
    /// What has been written so far.
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 256) {
        self.bytes.reserveCapacity(capacity)
    }

    /// What has been written so far, as text.
    public var text: String { String(decoding: self.bytes, as: UTF8.self) }

    /// One whole value as bytes.
    public static func encode(_ value: JSON, capacity: Int = 256) -> [UInt8] {
        var writer = JSONWriter(capacity: capacity)
        writer.write(value)
        return writer.bytes
    }

    /// One whole value as text.
    public static func text(_ value: JSON) -> String {
        var writer = JSONWriter()
        writer.write(value)
        return writer.text
    }

    // MARK: Whole values

    public mutating func write(_ value: JSON) {
        switch value {
        case .null: self.null()
        case .bool(let flag): self.bool(flag)
        case .int(let number): self.int(number)
        case .largeInteger(let digits): self.raw(digits)
        case .double(let number): self.double(number)
        case .string(let text): self.string(text)
        case .array(let items):
            self.list(items, open: Byte.openBracket, close: Byte.closeBracket) { writer, item in writer.write(item) }
        case .object(let members):
            self.list(members, open: Byte.openBrace, close: Byte.closeBrace) { writer, member in
                writer.member(member.0) { writer in writer.write(member.1) }
            }
        }
    }

    // MARK: Streaming primitives

    public mutating func null() {
        self.bytes.append(contentsOf: Byte.null)
    }

    public mutating func bool(_ flag: Bool) {
        self.bytes.append(contentsOf: flag ? Byte.true : Byte.false)
    }

    /// The digits, with a `-` for a negative number.
    public mutating func int(_ number: Int) {
        if number >= 0, number < 10 {
            self.bytes.append(Byte.zero &+ UInt8(truncatingIfNeeded: number))
            return
        }
        if number < 0 { self.bytes.append(Byte.minus) }
        var magnitude = number.magnitude
        // UInt.max has 20 digits.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var start = digits.count
            repeat {
                let (quotient, remainder) = magnitude.quotientAndRemainder(dividingBy: 10)
                start -= 1
                digits[start] = Byte.zero &+ UInt8(truncatingIfNeeded: remainder)
                magnitude = quotient
            } while magnitude > 0
            self.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[start...]))
        }
    }

    /// The shortest text that reads back as the same `Double`, with a fraction or an exponent so
    /// that it reads back as a double (`1.0`, not `1`); `null` for an infinity or NaN.
    public mutating func double(_ number: Double) {
        guard number.isFinite else {
            self.null()
            return
        }
        let text = number.description
        var hasFractionOrExponent = false
        for byte in text.utf8 where byte == Byte.dot || byte == Byte.lowerE || byte == Byte.upperE {
            hasFractionOrExponent = true
            break
        }
        self.bytes.append(contentsOf: text.utf8)
        if !hasFractionOrExponent { self.bytes.append(contentsOf: Byte.pointZero) }
    }

    /// A string, quoted and escaped.
    public mutating func string(_ text: String) {
        self.bytes.append(Byte.quote)
        let done: Void? = text.utf8.withContiguousStorageIfAvailable { self.escaping($0) }
        if done == nil {
            var copy = text
            copy.withUTF8 { self.escaping($0) }
        }
        self.bytes.append(Byte.quote)
    }

    /// Text that is already JSON (a number's digits, a literal), appended as it is.
    public mutating func raw(_ text: String) {
        self.bytes.append(contentsOf: text.utf8)
    }

    /// `["a","b"]`.
    public mutating func strings(_ values: [String]) {
        self.list(values, open: Byte.openBracket, close: Byte.closeBracket) { writer, value in writer.string(value) }
    }

    /// `{"key":value,...}` from a dictionary, with its keys in sorted order (stable rows,
    /// comparable text); `write` writes each value.
    public mutating func object<Value>(_ dictionary: [String: Value], _ write: (inout JSONWriter, Value) -> Void) {
        self.list(dictionary.sorted(by: { $0.key < $1.key }), open: Byte.openBrace, close: Byte.closeBrace) { writer, pair in
            writer.member(pair.key) { writer in write(&writer, pair.value) }
        }
    }

    /// `open`, the items separated by commas, `close`.
    @inline(__always)
    private mutating func list<Items: Sequence>(
        _ items: Items, open: UInt8, close: UInt8, _ each: (inout JSONWriter, Items.Element) -> Void
    ) {
        self.bytes.append(open)
        var first = true
        for item in items {
            if !first { self.bytes.append(Byte.comma) }
            first = false
            each(&self, item)
        }
        self.bytes.append(close)
    }

    /// `"key":value`.
    @inline(__always)
    private mutating func member(_ key: String, _ value: (inout JSONWriter) -> Void) {
        self.string(key)
        self.bytes.append(Byte.colon)
        value(&self)
    }

    // MARK: Escaping

    /// The UTF-8 of a string's content, escaped: runs with nothing to escape are copied whole.
    private mutating func escaping(_ utf8: UnsafeBufferPointer<UInt8>) {
        var runStart = 0
        for index in 0..<utf8.count {
            let byte = utf8[index]
            guard byte < 0x20 || byte == Byte.quote || byte == Byte.backslash else { continue }
            if runStart < index {
                self.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
            }
            runStart = index + 1
            self.bytes.append(Byte.backslash)
            switch byte {
            case Byte.quote, Byte.backslash: self.bytes.append(byte)
            case 0x0A: self.bytes.append(UInt8(ascii: "n"))
            case 0x0D: self.bytes.append(UInt8(ascii: "r"))
            case 0x09: self.bytes.append(UInt8(ascii: "t"))
            default:
                self.bytes.append(UInt8(ascii: "u"))
                self.bytes.append(Byte.zero)
                self.bytes.append(Byte.zero)
                self.bytes.append(Byte.hexDigit(byte >> 4))
                self.bytes.append(Byte.hexDigit(byte & 0x0F))
            }
        }
        if runStart < utf8.count {
            self.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        }
    }
}

/// The bytes the writer uses.
private enum Byte {
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let comma = UInt8(ascii: ",")
    static let colon = UInt8(ascii: ":")
    static let minus = UInt8(ascii: "-")
    static let dot = UInt8(ascii: ".")
    static let lowerE = UInt8(ascii: "e")
    static let upperE = UInt8(ascii: "E")
    static let zero = UInt8(ascii: "0")
    static let null: StaticString = "null"
    static let `true`: StaticString = "true"
    static let `false`: StaticString = "false"
    static let pointZero: StaticString = ".0"

    @inline(__always)
    static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? Self.zero &+ nibble : UInt8(ascii: "a") &+ (nibble &- 10)
    }
}

extension Array where Element == UInt8 {
    @inline(__always)
    fileprivate mutating func append(contentsOf text: StaticString) {
        self.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }
}
