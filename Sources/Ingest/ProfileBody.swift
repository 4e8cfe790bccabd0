import Activation
import Foundation

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
        let document: Any
        do {
            document = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            // NDJSON sent without its content type: read it as lines when the first line is JSON.
            if Self.looksLikeLines(data, limits: limits) {
                try self.readLines(data, limits: limits)
                return
            }
            throw .notJSON(Self.describe(error))
        }
        if let items = document as? [Any] {
            guard items.count <= Self.maxItems else { throw .tooManyItems(Self.maxItems) }
            for (index, item) in items.enumerated() { self.read(item, index: index, limits: limits) }
        } else {
            self.read(document, index: 0, limits: limits)
        }
    }

    /// Several lines, the first of which is a JSON object on its own: NDJSON without its content type.
    private static func looksLikeLines(_ data: Data, limits: ProfileLimits) -> Bool {
        guard data.contains(0x0A), let firstLine = data.split(separator: 0x0A, maxSplits: 1).first else { return false }
        let line = Data(firstLine)
        guard JSONShape.scan(line, maxDepth: limits.maxNesting).tooDeepAt == nil else { return false }
        return (try? JSONSerialization.jsonObject(with: line)) is [String: Any]
    }

    private mutating func readLines(_ data: Data, limits: ProfileLimits) throws(Failure) {
        let lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        // Counted before any line is parsed: a body with too many is refused without that work.
        let isBlank = { (line: Data) in line.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D } }
        guard lines.count <= Self.maxItems || lines.lazy.filter({ !isBlank($0) }).count <= Self.maxItems else {
            throw .tooManyItems(Self.maxItems)
        }
        var index = 0
        for (lineIndex, line) in lines.enumerated() {
            if isBlank(line) { continue }
            let trimmed = line.last == 0x0D ? line.dropLast() : line
            defer { index += 1 }
            let lineData = Data(trimmed)
            if let offset = JSONShape.scan(lineData, maxDepth: limits.maxNesting).tooDeepAt {
                self.rejected.append(Rejection(
                    index: index,
                    error: "line \(lineIndex + 1) nests arrays and objects deeper than \(limits.maxNesting) levels (at byte \(offset) of the line)"
                ))
                continue
            }
            do {
                let item = try JSONSerialization.jsonObject(with: lineData, options: [.fragmentsAllowed])
                self.read(item, index: index, limits: limits)
            } catch {
                self.rejected.append(Rejection(index: index, error: "line \(lineIndex + 1) is not JSON: \(Self.describe(error))"))
            }
        }
    }

    private mutating func read(_ item: Any, index: Int, limits: ProfileLimits) {
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

    private static func describe(_ error: any Error) -> String {
        let nsError = error as NSError
        if let detail = nsError.userInfo[NSDebugDescriptionErrorKey] as? String { return detail }
        return "\(error)"
    }
}
