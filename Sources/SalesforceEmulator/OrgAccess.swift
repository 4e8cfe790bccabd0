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
        guard let token, self.isLive(token, now: now) else {
            if let token, self.sessions[token] != nil { struck.append(.sessionExpired) }
            return RESTAdmission(verdict: .invalidSession, delayMilliseconds: delay, usage: self.usage, struck: struck)
        }
        if self.dropDice.roll(self.faults.dropConnectionRate) {
            return RESTAdmission(verdict: .dropConnection, delayMilliseconds: delay, usage: self.usage, struck: struck + [.dropConnection])
        }
        if self.unavailableDice.roll(self.faults.serverUnavailableRate) {
            return RESTAdmission(verdict: .serverUnavailable, delayMilliseconds: delay, usage: self.usage, struck: struck + [.serverUnavailable])
        }
        if self.usage.used >= self.usage.max {
            return RESTAdmission(verdict: .limitExceeded, delayMilliseconds: delay, usage: self.usage, struck: struck + [.requestLimitExceeded])
        }
        self.usage.used += 1
        return RESTAdmission(
            verdict: .serve(lockRowRate: self.faults.lockRowRate), delayMilliseconds: delay, usage: self.usage, struck: struck
        )
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
