import Foundation
import Store

/// A signed-in browser: which key it signed in with (by the key's SHA-256, the way keys are
/// stored, so the key itself is never kept), its CSRF token, and when it ends.
struct UISession: Sendable {
    var id: String
    var csrfToken: String
    var keyHash: String
    var keyName: String
    var createdAt: Date
    var lastSeenAt: Date
}

/// The UI's sessions, kept in the store (`WebSessionStore`): a restart signs nobody out, and
/// every process serving the UI knows every session. The store keeps a session's id only as a
/// hash, and the CSRF token is derived from the id, so neither can be read back from the database.
/// A session ends on logout, after `idle` without a request, `lifetime` after login, or when its
/// key stops being valid (checked on every request by the API's own key check).
actor UISessionStore {
    /// Sessions kept at most; the oldest go first (logins need a valid key, so this bounds the
    /// table against a key holder, not against strangers).
    static let maxSessions = 10_000
    /// Sessions of one key kept at most: a key's own logins push out its own oldest session,
    /// never other people's.
    static let maxSessionsPerKey = 20
    /// Messages kept per session for its next page.
    static let maxFlashes = 10

    let store: any WebSessionStore
    let idle: TimeInterval
    let lifetime: TimeInterval

    init(store: any WebSessionStore, idle: TimeInterval, lifetime: TimeInterval) {
        self.store = store
        self.idle = idle
        self.lifetime = lifetime
    }

    /// How the store knows a session: its id's hash.
    static func storedHash(of id: String) -> String { APIKeyMaterial.hash("sfdest-ui-session\u{0}" + id) }
    /// The session's CSRF token: derived from its id, so it never needs keeping.
    static func csrfToken(of id: String) -> String { APIKeyMaterial.hash("sfdest-ui-csrf\u{0}" + id) }

    /// How long a use may go unrecorded: the idle clock is exact to this, and a busy browser does
    /// not write the store at every page.
    var touchGranularity: TimeInterval { min(30, self.idle / 10) }

    /// A new session (a new id at every login: an id planted before login is worth nothing).
    func create(keyHash: String, keyName: String, now: Date = Date()) async throws -> UISession {
        let id = UIToken.random()
        try await self.store.createWebSession(
            WebSession(idHash: Self.storedHash(of: id), keyHash: keyHash, keyName: keyName, createdAt: now, lastSeenAt: now),
            perKey: Self.maxSessionsPerKey, total: Self.maxSessions,
            idleBefore: now.addingTimeInterval(-self.idle), createdBefore: now.addingTimeInterval(-self.lifetime)
        )
        return UISession(id: id, csrfToken: Self.csrfToken(of: id), keyHash: keyHash, keyName: keyName, createdAt: now, lastSeenAt: now)
    }

    /// The live session with this id, its idle clock restarted (unless `touch` is false: a page
    /// refreshing itself is not someone using it); nil when unknown, ended, or unreadable.
    func session(id: String, touch: Bool = true, now: Date = Date()) async -> UISession? {
        let hash = Self.storedHash(of: id)
        guard let stored = try? await self.store.webSession(idHash: hash) else { return nil }
        guard now.timeIntervalSince(stored.lastSeenAt) < self.idle, now.timeIntervalSince(stored.createdAt) < self.lifetime else {
            try? await self.store.endWebSession(idHash: hash)
            return nil
        }
        var lastSeenAt = stored.lastSeenAt
        if touch, now.timeIntervalSince(stored.lastSeenAt) >= self.touchGranularity {
            try? await self.store.touchWebSession(idHash: hash, at: now)
            lastSeenAt = now
        }
        return UISession(
            id: id, csrfToken: Self.csrfToken(of: id), keyHash: stored.keyHash, keyName: stored.keyName, createdAt: stored.createdAt,
            lastSeenAt: lastSeenAt
        )
    }

    func end(id: String) async {
        try? await self.store.endWebSession(idHash: Self.storedHash(of: id))
    }

    /// Keeps a message for the session's next page.
    func flash(_ flash: UIFlash, for id: String) async {
        guard let message = try? JSONEncoder().encode(flash) else { return }
        try? await self.store.addWebFlash(idHash: Self.storedHash(of: id), message: message, keep: Self.maxFlashes)
    }

    /// The messages kept for the session, now shown and forgotten.
    func takeFlashes(for id: String) async -> [UIFlash] {
        let messages = (try? await self.store.takeWebFlashes(idHash: Self.storedHash(of: id))) ?? []
        return messages.compactMap { try? JSONDecoder().decode(UIFlash.self, from: $0) }
    }
}

/// Random tokens and their comparison.
enum UIToken {
    /// 32 random bytes from the system's CSPRNG, base64url without padding.
    static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Equal, in time that does not depend on where they differ.
    static func matches(_ given: String?, _ expected: String) -> Bool {
        guard let given else { return false }
        let a = Array(given.utf8), b = Array(expected.utf8)
        guard a.count == b.count, !b.isEmpty else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}

/// A message shown once at the top of the next page.
struct UIFlash: Sendable, Codable {
    enum Kind: String, Sendable, Codable { case success, error, info }
    var kind: Kind
    var message: String
    /// Each problem of a refused form, with where it is.
    var problems: [String] = []
    /// A secret shown this once (a new API key).
    var secret: String? = nil
}
