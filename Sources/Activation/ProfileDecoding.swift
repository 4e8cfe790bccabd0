import Foundation
import SfdestJSON

/// Why one profile of a body cannot be read. The description says what is wrong and where.
public struct ProfileDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    public let path: String
    public let problem: String

    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }

    public var description: String { self.path.isEmpty ? self.problem : "\(self.path): \(self.problem)" }
}

/// Limits that keep one profile from costing unbounded memory or time.
public struct ProfileLimits: Sendable {
    /// Nesting depth of arrays and objects in one JSON document (a body, or one NDJSON line),
    /// checked before the document is parsed.
    public var maxNesting = 64
    /// Nesting depth of attribute objects.
    public var maxDepth = 32
    /// Attribute leaves in one profile.
    public var maxAttributes = 1_000
    /// Identities in one profile, over all namespaces.
    public var maxIdentities = 100
    /// Audience memberships in one profile.
    public var maxMemberships = 1_000
    /// Characters in one identity value or one audience id.
    public var maxIdLength = 1_024

    public init() {}
}

extension Profile {
    /// Reads one XDM profile fragment.
    ///
    /// `identityMap` is namespace -> `[{"id": ...}]`; `segmentMembership.ups.<segmentId>` is
    /// `{status, lastQualificationTime}`; every other object member is an attribute at its dotted
    /// path. Arrays of attributes are not mappable to a single Salesforce field and are skipped.
    public init(xdm json: JSON, limits: ProfileLimits = ProfileLimits()) throws(ProfileDecodingError) {
        guard case .object(let object) = json else {
            throw ProfileDecodingError(path: "", problem: "a profile must be a JSON object")
        }
        self.init()
        for (key, value) in object {
            switch key {
            case "identityMap":
                try self.readIdentityMap(value, limits: limits)
            case "segmentMembership":
                try self.readSegmentMembership(value, limits: limits)
            default:
                try self.readAttribute(value, path: key, depth: 1, limits: limits)
            }
        }
        if self.identities.isEmpty && self.attributes.isEmpty && self.memberships.isEmpty {
            throw ProfileDecodingError(path: "", problem: "the profile has no identityMap, attributes or segmentMembership")
        }
    }

    private mutating func readIdentityMap(_ value: JSON, limits: ProfileLimits) throws(ProfileDecodingError) {
        guard case .object(let namespaces) = value else {
            throw ProfileDecodingError(path: "identityMap", problem: "must be an object of namespace -> [{\"id\": \"...\"}]")
        }
        var count = 0
        for (namespace, entries) in namespaces {
            let path = "identityMap.\(namespace.abbreviated)"
            guard case .array(let list) = entries else {
                throw ProfileDecodingError(path: path, problem: "must be an array of {\"id\": \"...\"}")
            }
            var ids: [String] = []
            for (index, entry) in list.enumerated() {
                guard case .object = entry, let id = entry["id"]?.stringValue else {
                    throw ProfileDecodingError(path: "\(path)[\(index)]", problem: "must be an object with a string \"id\"")
                }
                let trimmed = id.trimmingWhitespace()
                guard !trimmed.isEmpty else {
                    throw ProfileDecodingError(path: "\(path)[\(index)].id", problem: "must not be empty")
                }
                guard trimmed.utf8.count <= limits.maxIdLength || trimmed.count <= limits.maxIdLength else {
                    throw ProfileDecodingError(path: "\(path)[\(index)].id", problem: "longer than \(limits.maxIdLength) characters")
                }
                if !ids.contains(trimmed) {
                    ids.append(trimmed)
                    guard count + ids.count <= limits.maxIdentities else {
                        throw ProfileDecodingError(path: "identityMap", problem: "more than \(limits.maxIdentities) identities")
                    }
                }
            }
            count += ids.count
            if !ids.isEmpty { self.identities[namespace] = ids }
        }
    }

    private mutating func readSegmentMembership(_ value: JSON, limits: ProfileLimits) throws(ProfileDecodingError) {
        guard case .object(let namespaces) = value else {
            throw ProfileDecodingError(path: "segmentMembership", problem: "must be an object such as {\"ups\": {...}}")
        }
        for (namespace, audiences) in namespaces {
            let path = "segmentMembership.\(namespace.abbreviated)"
            guard case .object(let audiences) = audiences else {
                throw ProfileDecodingError(path: path, problem: "must be an object of segment id -> {status, lastQualificationTime}")
            }
            // Only the profile store's own audiences ("ups") are evaluated audiences; other namespaces
            // (external audiences) carry the same shape and are read the same way.
            for (segmentId, entry) in audiences {
                let entryPath = "\(path).\(segmentId.abbreviated)"
                guard segmentId.count <= limits.maxIdLength else {
                    throw ProfileDecodingError(path: entryPath, problem: "the audience id is longer than \(limits.maxIdLength) characters")
                }
                guard case .object = entry else {
                    throw ProfileDecodingError(path: entryPath, problem: "must be an object with status and lastQualificationTime")
                }
                guard let statusText = entry["status"]?.stringValue else {
                    throw ProfileDecodingError(path: "\(entryPath).status", problem: "must be one of realized, existing, exited")
                }
                guard let status = AudienceStatus(rawValue: statusText) else {
                    throw ProfileDecodingError(path: "\(entryPath).status", problem: "'\(statusText.abbreviated)' is not one of realized, existing, exited")
                }
                guard let timeText = entry["lastQualificationTime"]?.stringValue else {
                    throw ProfileDecodingError(path: "\(entryPath).lastQualificationTime", problem: "must be an ISO 8601 time such as 2026-11-20T10:00:00Z")
                }
                guard let time = Timestamp.parseMilliseconds(timeText) else {
                    throw ProfileDecodingError(path: "\(entryPath).lastQualificationTime", problem: "'\(timeText.abbreviated)' is not an ISO 8601 time such as 2026-11-20T10:00:00Z")
                }
                let incoming = AudienceMembership(status: status, lastQualificationTime: time)
                self.memberships[segmentId] = self.memberships[segmentId]?.merged(with: incoming) ?? incoming
                guard self.memberships.count <= limits.maxMemberships else {
                    throw ProfileDecodingError(path: "segmentMembership", problem: "more than \(limits.maxMemberships) memberships")
                }
            }
        }
    }

    private mutating func readAttribute(_ value: JSON, path: String, depth: Int, limits: ProfileLimits) throws(ProfileDecodingError) {
        if let scalar = FieldValue(json: value) {
            self.attributes[path] = scalar
            guard self.attributes.count <= limits.maxAttributes else {
                throw ProfileDecodingError(path: path.abbreviated, problem: "more than \(limits.maxAttributes) attributes in one profile")
            }
        } else if case .object(let members) = value {
            guard depth < limits.maxDepth else {
                throw ProfileDecodingError(path: path.abbreviated, problem: "nested deeper than \(limits.maxDepth) levels")
            }
            for (key, child) in members {
                try self.readAttribute(child, path: path + "." + key, depth: depth + 1, limits: limits)
            }
        } else if case .largeInteger(let text) = value {
            // Rounding it to a double, or wrapping it around, would change the value.
            throw ProfileDecodingError(path: path.abbreviated, problem: "\(text.abbreviated) is beyond the 64-bit integer range: send it as a string")
        }
        // Arrays of attributes are not mappable to a single Salesforce field: skipped.
    }
}

extension String {
    /// The text for an error message: at most 64 characters, so a huge value is not echoed whole.
    var abbreviated: String {
        self.utf8.count <= 64 ? self : String(self.prefix(64)) + "... (\(self.utf8.count) bytes)"
    }

    func trimmingWhitespace() -> String {
        guard let first = self.firstIndex(where: { !$0.isWhitespace }),
              let last = self.lastIndex(where: { !$0.isWhitespace })
        else { return "" }
        return String(self[first...last])
    }
}
