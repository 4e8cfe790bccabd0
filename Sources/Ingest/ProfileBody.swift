import Activation
import Foundation
import SfdestJSON

/// A `POST /v1/profiles` body split into profiles: one JSON object, a JSON array, or NDJSON.
/// A body that is not JSON at all is refused whole; an item that cannot be read is rejected by
/// index and the others go on.
public struct ProfileBody: Sendable {
    /// An item of the body that was not accepted, with the reason.
    public struct Rejection: Sendable, Hashable, Codable {
        public var index: Int
        public var error: String
    }

    /// Why a body as a whole cannot be read.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case notJSON(String)
        case empty
        case tooManyItems(Int)
        /// Arrays and objects nest deeper than the limit; `offset` is the byte where it is passed.
        case tooDeep(limit: Int, offset: Int)

        public var description: String {
            switch self {
            case .notJSON(let detail):
                return "the body is not JSON (send one profile object, an array of them, or NDJSON with Content-Type application/x-ndjson): \(detail)"
            case .empty:
                return "the body is empty: send one profile object, an array of them, or NDJSON"
            case .tooManyItems(let limit):
                return "more than \(limit) profiles in one body: split it"
            case .tooDeep(let limit, let offset):
                return "arrays and objects nest deeper than \(limit) levels (at byte \(offset)); a profile needs far fewer: send flatter JSON"
            }
        }
    }

    public var profiles: [Profile]
    public var rejected: [Rejection]

    /// Profiles in one body at most.
    public static let maxItems = 100_000

    /// Reads a body. `ndjson` is true when the content type says NDJSON.
    public init(_ data: Data, ndjson: Bool, limits: ProfileLimits = ProfileLimits()) throws(Failure) {
        self.profiles = []
        self.rejected = []
        if data.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { throw .empty }
        if ndjson {
            try self.readLines(data, limits: limits)
            return
        }
        // Depth and item count are checked before parsing, so the parser never recurses or
        // allocates for what would be refused anyway.
        let shape = JSONShape.scan(data, maxDepth: limits.maxNesting)
        if let offset = shape.tooDeepAt {
            if Self.looksLikeLines(data, limits: limits) {
                try self.readLines(data, limits: limits)
                return
            }
            throw .tooDeep(limit: limits.maxNesting, offset: offset)
        }
        guard shape.topLevelItems <= Self.maxItems else { throw .tooManyItems(Self.maxItems) }
        let document: JSON
        do {
            document = try JSONParser.parse(data, maxDepth: limits.maxNesting)
        } catch {
            // NDJSON sent without its content type: read it as lines when the first line is JSON.
            if Self.looksLikeLines(data, limits: limits) {
                try self.readLines(data, limits: limits)
                return
            }
            throw .notJSON(error.description)
        }
        if case .array(let items) = document {
            guard items.count <= Self.maxItems else { throw .tooManyItems(Self.maxItems) }
            for (index, item) in items.enumerated() { self.read(item, index: index, limits: limits) }
        } else {
            self.read(document, index: 0, limits: limits)
        }
    }

    /// Several lines, the first of which is a JSON object on its own: NDJSON without its content type.
    private static func looksLikeLines(_ data: Data, limits: ProfileLimits) -> Bool {
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Bool in
            let bytes = raw.bindMemory(to: UInt8.self)
            guard let newline = bytes.firstIndex(of: 0x0A) else { return false }
            let firstLine = UnsafeRawBufferPointer(rebasing: raw[..<newline])
            guard case .object? = try? JSONParser.parse(firstLine, maxDepth: limits.maxNesting) else { return false }
            return true
        }
    }

    /// One profile per line. Lines are found and parsed in place (no copy per line); blank lines
    /// are skipped without taking an index.
    private mutating func readLines(_ data: Data, limits: ProfileLimits) throws(Failure) {
        let tooMany: Bool = data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Bool in
            // Counted before any line is parsed: a body with too many is refused without that work.
            var items = 0
            Self.forEachLine(raw) { _, _ in items += 1 }
            guard items <= Self.maxItems else { return true }
            var index = 0
            Self.forEachLine(raw) { lineNumber, line in
                defer { index += 1 }
                do throws(JSONParseError) {
                    self.read(try JSONParser.parse(line, maxDepth: limits.maxNesting), index: index, limits: limits)
                } catch where error.kind == .tooDeep {
                    self.rejected.append(Rejection(
                        index: index,
                        error: "line \(lineNumber) nests arrays and objects deeper than \(limits.maxNesting) levels (at byte \(error.offset) of the line)"
                    ))
                } catch {
                    self.rejected.append(Rejection(index: index, error: "line \(lineNumber) is not JSON: \(error.description)"))
                }
            }
            return false
        }
        if tooMany { throw .tooManyItems(Self.maxItems) }
    }

    /// Calls `body` with the 1-based number and the bytes (without `\r\n` or `\n`) of every line
    /// that is not blank.
    private static func forEachLine(_ raw: UnsafeRawBufferPointer, _ body: (Int, UnsafeRawBufferPointer) -> Void) {
        guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        var start = 0
        var lineNumber = 1
        while start <= raw.count {
            var end = raw.count
            if start < raw.count, let found = memchr(base + start, 0x0A, raw.count - start) {
                end = UnsafePointer<UInt8>(found.assumingMemoryBound(to: UInt8.self)) - base
            }
            var contentEnd = end
            if contentEnd > start && base[contentEnd - 1] == 0x0D { contentEnd -= 1 }
            var blank = true
            for offset in start..<contentEnd where base[offset] != 0x20 && base[offset] != 0x09 && base[offset] != 0x0D {
                blank = false
                break
            }
            if !blank { body(lineNumber, UnsafeRawBufferPointer(rebasing: raw[start..<contentEnd])) }
            start = end + 1
            lineNumber += 1
        }
    }

    private mutating func read(_ item: JSON, index: Int, limits: ProfileLimits) {
        do {
            let profile = try Profile(xdm: item, limits: limits)
            guard !profile.identities.isEmpty else {
                self.rejected.append(Rejection(index: index, error: "identityMap: at least one identity is required to store and address the profile"))
                return
            }
            self.profiles.append(profile)
        } catch {
            self.rejected.append(Rejection(index: index, error: error.description))
        }
    }
}
