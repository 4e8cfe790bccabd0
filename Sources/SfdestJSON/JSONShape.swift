import Foundation

/// A cheap look at a JSON document before it is parsed: how deep its arrays and objects nest, and
/// how many items a top-level array holds. One pass, no allocation, no recursion, so a hostile body
/// (100,000 `[` in a row, millions of tiny items) is refused before a parser spends stack or memory
/// on it. It does not validate the document; the parser does that afterwards.
public struct JSONShape: Sendable, Equatable {
    /// The byte offset of the first bracket past the allowed depth; nil when within it.
    public var tooDeepAt: Int?
    /// Items of the top-level array, counted by its commas (0 when the document is not an array).
    public var topLevelItems: Int

    /// Scans `data`; stops at the first bracket deeper than `maxDepth`.
    public static func scan(_ data: Data, maxDepth: Int) -> JSONShape {
        data.withUnsafeBytes { raw in
            self.scan(raw.bindMemory(to: UInt8.self), maxDepth: maxDepth)
        }
    }

    static func scan(_ bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) -> JSONShape {
        var depth = 0
        var inString = false
        var escaped = false
        var rootIsArray: Bool?
        var commas = 0
        var sawItem = false
        for (offset, byte) in bytes.enumerated() {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
                if depth == 1 { sawItem = true }
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                if rootIsArray == nil { rootIsArray = byte == UInt8(ascii: "[") }
                if depth == 1 { sawItem = true }
                depth += 1
                if depth > maxDepth { return JSONShape(tooDeepAt: offset, topLevelItems: 0) }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth = max(0, depth - 1)
            case UInt8(ascii: ","):
                if depth == 1 { commas += 1 }
            case 0x20, 0x09, 0x0A, 0x0D:
                break
            default:
                if rootIsArray == nil { rootIsArray = false }
                if depth == 1 { sawItem = true }
            }
        }
        let items = rootIsArray == true ? (sawItem ? commas + 1 : 0) : 0
        return JSONShape(tooDeepAt: nil, topLevelItems: items)
    }

    /// The offset of the first byte that is not valid UTF-8, or nil when all of it is. JSON text
    /// must be UTF-8; a decoder that skips unknown keys would otherwise never look at bad bytes
    /// there, and a bad byte inside a key would silently make that key unknown.
    public static func firstInvalidUTF8(_ data: Data) -> Int? {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = data.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar): offset += scalar.count
            case .error: return offset
            case .emptyInput: return nil
            }
        }
    }
}
