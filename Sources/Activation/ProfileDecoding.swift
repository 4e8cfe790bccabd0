import Foundation

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
    /// Reads one XDM profile fragment from the output of `JSONSerialization`.
    ///
    /// `identityMap` is namespace -> `[{"id": ...}]`; `segmentMembership.ups.<segmentId>` is
    /// `{status, lastQualificationTime}`; every other object member is an attribute at its dotted
    /// path. Arrays of attributes are not mappable to a single Salesforce field and are skipped.
    public init(xdm json: Any, limits: ProfileLimits = ProfileLimits()) throws(ProfileDecodingError) {
        guard let object = json as? [String: Any] else {
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

    private mutating func readIdentityMap(_ value: Any, limits: ProfileLimits) throws(ProfileDecodingError) {
        guard let namespaces = value as? [String: Any] else {
            throw ProfileDecodingError(path: "identityMap", problem: "must be an object of namespace -> [{\"id\": \"...\"}]")
        }
        var count = 0
        for (namespace, entries) in namespaces {
            let path = "identityMap.\(namespace.abbreviated)"
            guard let list = entries as? [Any] else {
                throw ProfileDecodingError(path: path, problem: "must be an array of {\"id\": \"...\"}")
            }
            var ids: [String] = []
            for (index, entry) in list.enumerated() {
                guard let identity = entry as? [String: Any], let id = identity["id"] as? String else {
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

    private mutating func readSegmentMembership(_ value: Any, limits: ProfileLimits) throws(ProfileDecodingError) {
        guard let namespaces = value as? [String: Any] else {
            throw ProfileDecodingError(path: "segmentMembership", problem: "must be an object such as {\"ups\": {...}}")
        }
        for (namespace, audiences) in namespaces {
            let path = "segmentMembership.\(namespace.abbreviated)"
            guard let audiences = audiences as? [String: Any] else {
                throw ProfileDecodingError(path: path, problem: "must be an object of segment id -> {status, lastQualificationTime}")
            }
            // Only the profile store's own audiences ("ups") are evaluated audiences; other namespaces
            // (external audiences) carry the same shape and are read the same way.
            for (segmentId, entry) in audiences {
                let entryPath = "\(path).\(segmentId.abbreviated)"
                guard segmentId.count <= limits.maxIdLength else {
                    throw ProfileDecodingError(path: entryPath, problem: "the audience id is longer than \(limits.maxIdLength) characters")
                }
                guard let membership = entry as? [String: Any] else {
                    throw ProfileDecodingError(path: entryPath, problem: "must be an object with status and lastQualificationTime")
                }
                guard let statusText = membership["status"] as? String else {
                    throw ProfileDecodingError(path: "\(entryPath).status", problem: "must be one of realized, existing, exited")
                }
                guard let status = AudienceStatus(rawValue: statusText) else {
                    throw ProfileDecodingError(path: "\(entryPath).status", problem: "'\(statusText.abbreviated)' is not one of realized, existing, exited")
                }
                guard let timeText = membership["lastQualificationTime"] as? String else {
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

    private mutating func readAttribute(_ value: Any, path: String, depth: Int, limits: ProfileLimits) throws(ProfileDecodingError) {
        if let object = value as? [String: Any] {
            guard depth < limits.maxDepth else {
                throw ProfileDecodingError(path: path.abbreviated, problem: "nested deeper than \(limits.maxDepth) levels")
            }
            for (key, child) in object {
                try self.readAttribute(child, path: path + "." + key, depth: depth + 1, limits: limits)
            }
        } else if let number = value as? NSNumber, UInt8(bitPattern: number.objCType.pointee) == UInt8(ascii: "Q"),
                  number.uint64Value > UInt64(Int64.max) {
            // An integer past 64 bits would wrap around (18446744073709551615 read as -1).
            throw ProfileDecodingError(path: path.abbreviated, problem: "\(number.uint64Value) is beyond the 64-bit integer range: send it as a string")
        } else if let scalar = FieldValue(json: value) {
            self.attributes[path] = scalar
            guard self.attributes.count <= limits.maxAttributes else {
                throw ProfileDecodingError(path: path.abbreviated, problem: "more than \(limits.maxAttributes) attributes in one profile")
            }
        } else if value is [Any] {
            return
        } else {
            throw ProfileDecodingError(path: path.abbreviated, problem: "unsupported JSON value")
        }
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
