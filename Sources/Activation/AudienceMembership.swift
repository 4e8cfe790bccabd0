/// A profile's status in one audience (segment), as the platform evaluates it.
public enum AudienceStatus: String, Sendable, Hashable, CaseIterable, Codable {
    /// The profile entered the audience.
    case realized
    /// The profile is still in the audience.
    case existing
    /// The profile left the audience.
    case exited
}

/// One audience membership: `segmentMembership.ups.<segmentId> = {status, lastQualificationTime}`.
public struct AudienceMembership: Sendable, Hashable, Codable {
    public var status: AudienceStatus
    /// When the status was last evaluated, in milliseconds since 1970 (UTC).
    public var lastQualificationTime: Int64

    public init(status: AudienceStatus, lastQualificationTime: Int64) {
        self.status = status
        self.lastQualificationTime = lastQualificationTime
    }

    /// The newer of two memberships of one audience; on a tie the incoming one wins.
    public func merged(with incoming: AudienceMembership) -> AudienceMembership {
        incoming.lastQualificationTime >= self.lastQualificationTime ? incoming : self
    }
}
