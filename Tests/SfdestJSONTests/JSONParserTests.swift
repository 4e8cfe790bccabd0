import Foundation
import SfdestBasics
import Testing
@testable import SfdestJSON

@Suite("JSON parser")
struct JSONParserTests {
    @Test func readsEveryKindOfValue() throws {
        let json = try JSONParser.parse(#" {"s":"a\"b\\c\/d\n\u00e9\ud83d\ude00","i":-42,"z":0,"d":1.5e3,"t":true,"f":false,"n":null,"a":[1,[],{}],"o":{"k":"v"}} "#)
        #expect(json["s"] == .string("a\"b\\c/d\né😀"))
        #expect(json["i"] == .int(-42))
        #expect(json["z"] == .int(0))
        #expect(json["d"] == .double(1500))
        #expect(json["t"] == .bool(true))
        #expect(json["f"] == .bool(false))
        #expect(json["n"] == .null)
        #expect(json["a"] == .array([.int(1), .array([]), .object([])]))
        #expect(json["o"]?["k"] == .string("v"))
        // Members stay in the order written.
        #expect(json.objectValue?.map(\.0) == ["s", "i", "z", "d", "t", "f", "n", "a", "o"])
    }

    @Test func bareValuesAreDocumentsToo() throws {
        #expect(try JSONParser.parse("\"text\"") == .string("text"))
        #expect(try JSONParser.parse(" 7 ") == .int(7))
        #expect(try JSONParser.parse("null") == .null)
        #expect(try JSONParser.parse(Data([0xEF, 0xBB, 0xBF] + Array("[1]".utf8))) == .array([.int(1)]))
    }

    @Test func integersStayExactAndLargeOnesAreKeptAsWritten() throws {
        #expect(try JSONParser.parse("9223372036854775807") == .int(Int.max))
        #expect(try JSONParser.parse("-9223372036854775808") == .int(Int.min))
        #expect(try JSONParser.parse("9223372036854775808") == .largeInteger("9223372036854775808"))
        #expect(try JSONParser.parse("18446744073709551615") == .largeInteger("18446744073709551615"))
        #expect(try JSONParser.parse("-9223372036854775809") == .largeInteger("-9223372036854775809"))
        #expect(try JSONParser.parse("123456789012345678901234567890") == .largeInteger("123456789012345678901234567890"))
        #expect(try JSONParser.parse("1e2") == .double(100))
        #expect(try JSONParser.parse("-0.5E-1") == .double(-0.05))
    }

    @Test(arguments: [
        ("", "end of input"),
        ("{", "end of input"),
        ("[1,]", "a value was expected"),
        ("{\"a\":1,}", "member name"),
        ("{\"a\" 1}", "':' was expected"),
        ("[1 2]", "',' or ']'"),
        ("01", "leading zero"),
        ("+1", "a value was expected"),
        ("1.", "after '.'"),
        (".5", "a value was expected"),
        ("1e", "exponent"),
        ("-", "a digit"),
        ("1e999", "out of range"),
        ("tru", "a value was expected"),
        ("nul", "a value was expected"),
        ("[1] x", "after the JSON value"),
        ("\"a\u{01}b\"", "control character"),
        ("\"\\ud800\"", "lone surrogate"),
        ("\"\\udc00\"", "lone surrogate"),
        ("\"\\ud800\\u0041\"", "lone surrogate"),
        ("\"\\x\"", "Invalid escape"),
        ("\"\\u12G4\"", "hexadecimal"),
        ("\"abc", "not closed"),
        ("NaN", "a value was expected"),
    ])
    func refusesWhatIsNotJSON(text: String, expected: String) {
        #expect {
            try JSONParser.parse(text)
        } throws: { error in
            (error as? JSONParseError)?.description.contains(expected) == true
        }
    }

    @Test func refusesInvalidUTF8() {
        for bytes: [UInt8] in [[0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22], [0x22, 0x5C, 0x6E, 0xED, 0xA0, 0x80, 0x22], [0x7B, 0xC3, 0x7D]] {
            #expect(throws: JSONParseError.self) { try JSONParser.parse(bytes) }
        }
    }

    @Test func nestingIsBoundedAndReportedWhereItIsPassed() throws {
        _ = try JSONParser.parse(String(repeating: "[", count: 64) + String(repeating: "]", count: 64), maxDepth: 64)
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect {
            try JSONParser.parse(deep, maxDepth: 64)
        } throws: { error in
            let error = error as? JSONParseError
            return error?.kind == .tooDeep && error?.offset == 64
        }
        // Far past any stack: refused at the limit, not by a crash.
        #expect(throws: JSONParseError.self) { try JSONParser.parse(String(repeating: "[", count: 1_000_000)) }
    }

    /// Generated documents and mutations of them: the parser accepts exactly what Foundation's
    /// `JSONSerialization` accepts, with the same values.
    @Test func agreesWithJSONSerializationOnGeneratedDocuments() throws {
        var rng = SeededGenerator(seed: 0x5FDE57)
        var accepted = 0, refused = 0
        for round in 0..<4_000 {
            var bytes = Array(Self.document(&rng, depth: 0).utf8)
            if round % 2 == 1 { Self.mutate(&bytes, &rng) }
            // Foundation guesses UTF-16/32 from NUL bytes at the start; JSON text is UTF-8 (RFC 8259).
            if bytes.prefix(2).contains(0) { continue }
            let foundation = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
            let ours = try? JSONParser.parse(bytes)
            let text = String(decoding: bytes, as: UTF8.self)
            #expect((foundation != nil) == (ours != nil), "\(text)")
            if let foundation, let ours {
                #expect(Self.same(foundation, ours), "\(text)")
                accepted += 1
            } else {
                refused += 1
            }
        }
        // Both kinds were exercised in numbers.
        #expect(accepted > 1_000 && refused > 500)
    }

    static func same(_ foundation: Any, _ json: JSON) -> Bool {
        switch json {
        case .null: return foundation is NSNull
        case .bool(let flag):
            guard let number = foundation as? NSNumber, [UInt8(ascii: "c"), UInt8(ascii: "B")].contains(UInt8(bitPattern: number.objCType.pointee)) else { return false }
            return number.boolValue == flag
        case .int(let value): return (foundation as? NSNumber)?.int64Value == Int64(value)
        case .largeInteger: return foundation is NSNumber || foundation is Decimal
        case .double(let value):
            // Foundation on Linux reads a number of 17 significant digits as an exact decimal,
            // whose `doubleValue` is rounded twice; its digits read as the double they denote.
            if let decimal = foundation as? NSDecimalNumber { return Double(decimal.stringValue) == value }
            return (foundation as? NSNumber)?.doubleValue == value
        case .string(let text): return foundation as? String == text
        case .array(let items):
            guard let list = foundation as? [Any], list.count == items.count else { return false }
            return zip(list, items).allSatisfy { Self.same($0, $1) }
        case .object(let members):
            guard let dictionary = foundation as? [String: Any] else { return false }
            var last: [String: JSON] = [:]
            for (key, value) in members { last[key] = value }
            return dictionary.count == last.count && last.allSatisfy { key, value in dictionary[key].map { Self.same($0, value) } ?? false }
        }
    }

    static let strings = ["", "a", "é", "日本", "😀", "a\\\"b", "\\n\\t", "\\u00e9", "\\ud83d\\ude00", "x y", "\\/"]
    static let numbers = ["0", "-0", "1", "-17", "3.25", "1e3", "2E-2", "-0.0", "123456789", "9007199254740993"]

    static func document(_ rng: inout SeededGenerator, depth: Int) -> String {
        let space = [" ", "", "\n", "\t", "\r\n"]
        switch rng.next(depth > 3 ? 4 : 7) {
        case 0: return "\"" + Self.strings[rng.next(Self.strings.count)] + "\""
        case 1: return Self.numbers[rng.next(Self.numbers.count)]
        case 2: return ["true", "false", "null"][rng.next(3)]
        case 3: return "\"k\(rng.next(100))\""
        case 4, 5:
            let members = (0..<rng.next(5)).map { _ in
                "\"" + Self.strings[rng.next(Self.strings.count)] + "k\(rng.next(4))\"" + space[rng.next(space.count)] + ":" + Self.document(&rng, depth: depth + 1)
            }
            return "{" + members.joined(separator: "," + space[rng.next(space.count)]) + "}"
        default:
            let items = (0..<rng.next(5)).map { _ in Self.document(&rng, depth: depth + 1) }
            return "[" + space[rng.next(space.count)] + items.joined(separator: ",") + "]"
        }
    }

    static func mutate(_ bytes: inout [UInt8], _ rng: inout SeededGenerator) {
        let alphabet = Array("{}[]\",:0123456789-+.eE\\u tfn".utf8) + [0x00, 0x1F, 0x80, 0xC3, 0xFF]
        for _ in 0..<(1 + rng.next(3)) {
            let at = rng.next(bytes.count + 1)
            switch rng.next(3) {
            case 0 where at < bytes.count: bytes.remove(at: at)
            case 1 where at < bytes.count: bytes[at] = alphabet[rng.next(alphabet.count)]
            default: bytes.insert(alphabet[rng.next(alphabet.count)], at: at)
            }
        }
    }
}

extension SeededGenerator {
    /// A whole number below `bound` (0 when the bound is 0 or less), by remainder: the sequence
    /// these tests were written against.
    mutating func next(_ bound: Int) -> Int { Int(self.next() % UInt64(max(1, bound))) }
}
