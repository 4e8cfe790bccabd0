import Foundation

/// A browser signed in to the web UI, as every `api` process of a deployment sees it. The
/// session's id is kept as its hash only (`idHash`): reading the database gives no session to
/// use. The key is kept by its hash too, the way keys are stored.
public struct WebSession: Sendable, Equatable {
    public var idHash: String
    public var keyHash: String
    public var keyName: String
    public var createdAt: Date
    public var lastSeenAt: Date

    public init(idHash: String, keyHash: String, keyName: String, createdAt: Date, lastSeenAt: Date) {
        self.idHash = idHash
        self.keyHash = keyHash
        self.keyName = keyName
        self.createdAt = createdAt
        self.lastSeenAt = lastSeenAt
    }
}

/// The web UI's sessions and the messages each shows on its next page, shared by the processes
/// that serve the UI. A message may carry a secret shown once (a new API key): it is kept sealed,
/// bound to its session, and deleted when shown.
public protocol WebSessionStore: Sendable {
    /// Keeps a new session. First ends the sessions idle since before `idleBefore` or created
    /// before `createdBefore`, then the oldest of the same key past `perKey - 1`, then the oldest
    /// of all past `total - 1`.
    func createWebSession(_ session: WebSession, perKey: Int, total: Int, idleBefore: Date, createdBefore: Date) async throws
    func webSession(idHash: String) async throws -> WebSession?
    /// Someone used the session at `at`.
    func touchWebSession(idHash: String, at: Date) async throws
    /// Ends the session, with its messages.
    func endWebSession(idHash: String) async throws
    /// Keeps a message for the session's next page (the newest `keep` at most); nothing when the
    /// session has ended.
    func addWebFlash(idHash: String, message: Data, keep: Int) async throws
    /// The session's messages, oldest first, now deleted.
    func takeWebFlashes(idHash: String) async throws -> [Data]
}
