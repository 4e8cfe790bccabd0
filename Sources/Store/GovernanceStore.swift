import Activation
import Foundation

/// Data usage labels on sources: what policies are checked against when a destination is enabled,
/// its mappings change, or a label is put on a source it already exports.
public protocol GovernanceStore: Sendable {
    /// Every labelled source, by source.
    func labels() async throws -> [SourceLabels]
    /// Replaces every label, and saves `destinations` (paused or resumed by the new labels) in the
    /// same transaction: no destination exports under labels it has not been checked against.
    func replaceLabels(_ labels: [SourceLabels], saving destinations: [Destination]) async throws
}

extension MarketingAction {
    /// The stored form of a list of actions: their names, comma-separated.
    package static func stored(_ actions: [MarketingAction]) -> String {
        actions.map(\.rawValue).joined(separator: ",")
    }

    /// Actions read back; a name this version does not know is kept out (a newer version wrote it).
    package static func read(stored text: String) -> [MarketingAction] {
        text.split(separator: ",").compactMap { MarketingAction(rawValue: String($0)) }
    }
}

extension SourceLabels {
    /// The stored form of the labels: their names, comma-separated.
    package var storedLabels: String { self.labels.map(\.rawValue).joined(separator: ",") }

    /// A stored row read back: nil when its source no longer parses.
    package static func read(source: String, labels: String) -> SourceLabels? {
        let names = labels.split(separator: ",").map(String.init)
        return try? SourceLabels(source: source, labels: names)
    }
}

/// A stored profile, found by one of its identities.
public struct StoredProfile: Sendable, Hashable {
    /// The store's id of the profile (what exclusions without a record key are listed under).
    public var id: Int64
    public var profile: Profile

    public init(id: Int64, profile: Profile) {
        self.id = id
        self.profile = profile
    }
}

/// What an erasure removed.
public struct ProfileErasure: Sendable, Hashable {
    public var profileId: Int64
    /// Identity links removed (every identity of the profile).
    public var identities: Int
    /// Record rows removed across destinations (what was acknowledged and queued for the profile).
    public var records: Int
    /// Of those, rows with a change still queued (not sent, or in flight: a late answer is fenced).
    public var queuedChanges: Int

    public init(profileId: Int64, identities: Int, records: Int, queuedChanges: Int) {
        self.profileId = profileId
        self.identities = identities
        self.records = records
        self.queuedChanges = queuedChanges
    }
}

/// Profiles looked up, and erased, by one identity (`GET`/`DELETE /v1/profiles/{namespace}/{id}`).
public protocol ProfileStore: Sendable {
    /// The stored profile the identity belongs to; nil when none.
    func storedProfile(namespace: String, value: String) async throws -> StoredProfile?
    /// Erases the profile the identity belongs to, in one transaction: the profile, every identity
    /// link, and for each destination of `destinations` its record row (acknowledged values and
    /// any queued change), the row's history and its listed failure or exclusion. The counters
    /// (backlog, audiences, profiles) follow. Nil when no profile has the identity.
    func eraseProfile(namespace: String, value: String, destinations: [ActiveDestination]) async throws -> ProfileErasure?
}
