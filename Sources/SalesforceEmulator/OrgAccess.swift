/// The connected app's and the integration user's credentials.
struct Credentials: Sendable {
    var clientId: String
    var clientSecret: String
    var username: String
    /// Password with the security token appended, as the password grant sends it.
    var password: String
}

/// Who may call the org and how much: credentials, live sessions, faults and the API allowance.
struct OrgAccess: Sendable {
    var credentials: Credentials
    /// Issue time of every live access token.
    var sessions: [String: ContinuousClock.Instant] = [:]
    /// Every access token issued (the last 10,000), so tests can prove none was stored or logged.
    var issuedTokens: [String] = []
    /// Tokens presented in a REST call at least once, and those refused 401 at least once because
    /// their session had ended: a client asks for a new token only after its own was refused (or
    /// never reached it), so tests can count token requests against refusals, whatever the timing.
    private var presentedTokens: Set<String> = []
    private var refusedTokens: Set<String> = []
    /// Tokens whose sessions `expireSessions` ended (still known, so their refusal is counted).
    private var endedTokens: Set<String> = []
    var faults = Faults()
    var usage = APIUsage()
    /// The connected app's JWT bearer settings (certificate, pre-authorization, audiences).
    var connectedApp = ConnectedApp()
    private var dropDice = FaultDice()
    private var unavailableDice = FaultDice()
    private var spikeDice = FaultDice()

    init(credentials: Credentials) {
        self.credentials = credentials
    }

    /// Whether `token` names a live session under the current TTL.
    func isLive(_ token: String, now: ContinuousClock.Instant) -> Bool {
        guard let issued = self.sessions[token] else { return false }
        if let ttl = self.faults.tokenTtlSeconds, now - issued >= .milliseconds(Int64(ttl * 1000)) {
            return false
        }
        return true
    }

    /// Decides how a REST call carrying `token` is answered, counting it against the allowance
    /// when the org serves it.
    mutating func admit(token: String?, now: ContinuousClock.Instant) -> RESTAdmission {
        var struck: [FaultKind] = []
        let delay = self.delayMilliseconds(struck: &struck)
        if self.faults.holdRestCalls { struck.append(.held) }
        var firstPresented = false
        if let token, self.sessions[token] != nil || self.endedTokens.contains(token) {
            firstPresented = self.presentedTokens.insert(token).inserted
        }
        guard let token, self.isLive(token, now: now) else {
            if let token, self.sessions[token] != nil { struck.append(.sessionExpired) }
            var refusal = RESTAdmission(verdict: .invalidSession, delayMilliseconds: delay, usage: self.usage, struck: struck)
            refusal.tokenFirstPresented = firstPresented
            if let token, self.sessions[token] != nil || self.endedTokens.contains(token) {
                refusal.tokenFirstRefused = self.refusedTokens.insert(token).inserted
            }
            return refusal
        }
        if self.dropDice.roll(self.faults.dropConnectionRate) {
            return RESTAdmission(verdict: .dropConnection, delayMilliseconds: delay, usage: self.usage, struck: struck + [.dropConnection], tokenFirstPresented: firstPresented)
        }
        if self.unavailableDice.roll(self.faults.serverUnavailableRate) {
            return RESTAdmission(verdict: .serverUnavailable, delayMilliseconds: delay, usage: self.usage, struck: struck + [.serverUnavailable], tokenFirstPresented: firstPresented)
        }
        if self.usage.used >= self.usage.max {
            return RESTAdmission(verdict: .limitExceeded, delayMilliseconds: delay, usage: self.usage, struck: struck + [.requestLimitExceeded], tokenFirstPresented: firstPresented)
        }
        self.usage.used += 1
        var served = RESTAdmission(
            verdict: .serve(lockRowRate: self.faults.lockRowRate), delayMilliseconds: delay, usage: self.usage, struck: struck
        )
        served.tokenFirstPresented = firstPresented
        return served
    }

    private mutating func delayMilliseconds(struck: inout [FaultKind]) -> Int {
        var delay = self.faults.latencyMs
        if delay > 0 { struck.append(.latency) }
        if self.spikeDice.roll(self.faults.latencySpikeRate) {
            delay += self.faults.latencySpikeMs
            if self.faults.latencySpikeMs > 0 { struck.append(.latencySpike) }
        }
        return delay
    }

    /// Ends every session: the next REST call with an old token answers 401.
    mutating func expireSessions() {
        self.endedTokens.formUnion(self.sessions.keys)
        self.sessions.removeAll()
    }
}

/// How the org answers one REST call, decided under the access lock.
struct RESTAdmission: Sendable {
    enum Verdict: Sendable {
        case invalidSession
        case dropConnection
        case serverUnavailable
        case limitExceeded
        case serve(lockRowRate: Double)
    }

    let verdict: Verdict
    let delayMilliseconds: Int
    /// The allowance after this call, for `Sforce-Limit-Info`.
    let usage: APIUsage
    /// The faults that struck this call, for the stats.
    let struck: [FaultKind]
    /// Whether this call is the first to present its (issued) token, and the first to find it ended.
    var tokenFirstPresented = false
    var tokenFirstRefused = false

    /// Whether the call carried a live session (and so shows in the stats).
    var isAuthenticated: Bool {
        if case .invalidSession = self.verdict { return false }
        return true
    }
}

/// Decides at random whether a fault strikes, at `rate` over the long run and never more than
/// 2/rate calls apart: each call adds `rate` of credit, the chance of striking is the credit, and
/// a strike spends one. So a test that injects 15% of faults sees one within every 14 calls.
struct FaultDice: Sendable {
    private var credit = 0.0

    mutating func roll(_ rate: Double) -> Bool {
        guard rate > 0 else {
            self.credit = 0
            return false
        }
        self.credit += rate
        guard Double.random(in: 0..<1) < self.credit else { return false }
        self.credit -= 1
        return true
    }
}
