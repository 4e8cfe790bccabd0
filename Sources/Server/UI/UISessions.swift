import Foundation

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

/// The UI's sessions, in memory: a restart signs everyone out. A session ends on logout, after
/// `idle` without a request, `lifetime` after login, or when its key stops being valid (checked
/// on every request by the API's own key check).
actor UISessionStore {
    /// Sessions kept at most; the oldest go first (logins need a valid key, so this bounds memory
    /// against a key holder, not against strangers).
    static let maxSessions = 10_000
    /// Sessions of one key kept at most: a key's own logins push out its own oldest session,
    /// never other people's.
    static let maxSessionsPerKey = 20

    private var sessions: [String: UISession] = [:]
    /// Messages to show on a session's next page (after a form's redirect).
    private var flashes: [String: [UIFlash]] = [:]
    let idle: TimeInterval
    let lifetime: TimeInterval

    init(idle: TimeInterval, lifetime: TimeInterval) {
        self.idle = idle
        self.lifetime = lifetime
    }

    /// A new session (a new id at every login: an id planted before login is worth nothing).
    func create(keyHash: String, keyName: String, now: Date = Date()) -> UISession {
        self.expire(now: now)
        let own = self.sessions.values.filter { $0.keyHash == keyHash }
        if own.count >= Self.maxSessionsPerKey, let oldest = own.min(by: { $0.lastSeenAt < $1.lastSeenAt }) {
            self.sessions[oldest.id] = nil
        }
        if self.sessions.count >= Self.maxSessions, let oldest = self.sessions.values.min(by: { $0.lastSeenAt < $1.lastSeenAt }) {
            self.sessions[oldest.id] = nil
        }
        let session = UISession(
            id: UIToken.random(), csrfToken: UIToken.random(), keyHash: keyHash, keyName: keyName, createdAt: now, lastSeenAt: now
        )
        self.sessions[session.id] = session
        return session
    }

    /// The live session with this id, its idle clock restarted (unless `touch` is false: a page
    /// refreshing itself is not someone using it); nil when unknown or ended.
    func session(id: String, touch: Bool = true, now: Date = Date()) -> UISession? {
        guard var session = self.sessions[id] else { return nil }
        guard now.timeIntervalSince(session.lastSeenAt) < self.idle, now.timeIntervalSince(session.createdAt) < self.lifetime else {
            self.sessions[id] = nil
            return nil
        }
        if touch {
            session.lastSeenAt = now
            self.sessions[id] = session
        }
        return session
    }

    func end(id: String) {
        self.sessions[id] = nil
        self.flashes[id] = nil
    }

    /// Keeps a message for the session's next page.
    func flash(_ flash: UIFlash, for id: String) {
        guard self.sessions[id] != nil else { return }
        self.flashes[id, default: []].append(flash)
        if self.flashes[id]!.count > 10 { self.flashes[id]!.removeFirst() }
    }

    /// The messages kept for the session, now shown and forgotten.
    func takeFlashes(for id: String) -> [UIFlash] {
        defer { self.flashes[id] = nil }
        return self.flashes[id] ?? []
    }

    private func expire(now: Date) {
        self.sessions = self.sessions.filter {
            now.timeIntervalSince($0.value.lastSeenAt) < self.idle && now.timeIntervalSince($0.value.createdAt) < self.lifetime
        }
        self.flashes = self.flashes.filter { self.sessions[$0.key] != nil }
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
struct UIFlash: Sendable {
    enum Kind: String, Sendable { case success, error, info }
    var kind: Kind
    var message: String
    /// Each problem of a refused form, with where it is.
    var problems: [String] = []
    /// A secret shown this once (a new API key).
    var secret: String? = nil
}
