/// A customer profile as the platform exports it: identities, attributes at XDM paths, and
/// audience memberships. Both a stored profile and an incoming fragment have this shape.
public struct Profile: Sendable, Hashable {
    /// Identity namespace (`crmID`, `email`, ...) to the identities in it, first seen first.
    public var identities: [String: [String]]
    /// Attribute values by XDM path (`person.name.lastName`).
    public var attributes: [String: FieldValue]
    /// Audience memberships by segment id.
    public var memberships: [String: AudienceMembership]

    public init(
        identities: [String: [String]] = [:],
        attributes: [String: FieldValue] = [:],
        memberships: [String: AudienceMembership] = [:]
    ) {
        self.identities = identities
        self.attributes = attributes
        self.memberships = memberships
    }

    /// Merges a newer fragment of the same profile into this one: identities are added,
    /// attributes are last-write-wins per field, memberships keep the newer qualification per audience.
    public mutating func merge(_ fragment: Profile) {
        for (namespace, ids) in fragment.identities {
            var known = self.identities[namespace] ?? []
            for id in ids where !known.contains(id) {
                known.append(id)
            }
            self.identities[namespace] = known
        }
        for (path, value) in fragment.attributes {
            self.attributes[path] = value
        }
        for (segmentId, incoming) in fragment.memberships {
            self.memberships[segmentId] = self.memberships[segmentId]?.merged(with: incoming) ?? incoming
        }
    }

    /// This profile with a fragment merged in.
    public func merging(_ fragment: Profile) -> Profile {
        var merged = self
        merged.merge(fragment)
        return merged
    }
}
