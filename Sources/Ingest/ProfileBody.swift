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

        public var description: String {
            switch self {
            case .notJSON(let detail):
                return "the body is not JSON (send one profile object, an array of them, or NDJSON with Content-Type application/x-ndjson): \(detail)"
            case .empty:
                return "the body is empty: send one profile object, an array of them, or NDJSON"
            case .tooManyItems(let limit):
                return "more than \(limit) profiles in one body: split it"
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
        let document: Any
        do {
            document = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            // NDJSON sent without its content type: read it as lines when the first line is JSON.
            if let firstLine = data.split(separator: 0x0A, maxSplits: 1).first,
               (try? JSONSerialization.jsonObject(with: Data(firstLine))) is [String: Any], data.contains(0x0A) {
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

    private mutating func readLines(_ data: Data, limits: ProfileLimits) throws(Failure) {
        var index = 0
        for line in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            let trimmed = line.last == 0x0D ? line.dropLast() : line
            if trimmed.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            guard index < Self.maxItems else { throw .tooManyItems(Self.maxItems) }
            do {
                let item = try JSONSerialization.jsonObject(with: Data(trimmed), options: [.fragmentsAllowed])
                self.read(item, index: index, limits: limits)
            } catch {
                self.rejected.append(Rejection(index: index, error: "line \(index + 1) is not JSON: \(Self.describe(error))"))
            }
            index += 1
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
