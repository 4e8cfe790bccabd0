/// The connection's current session, fetched at most once at a time (single-flight): callers that
/// need a token while a request for one is running wait for that request instead of starting another.
/// With `sharing`, the same across processes: a session another process saved is used, and one
/// process at a time asks Salesforce for a new one.
actor TokenCache {
    private let endpoint: OAuthTokenEndpoint
    private let sharing: (any SessionSharing)?
    private var session: SalesforceSession?
    private var inFlight: Task<SalesforceSession, any Error>?

    init(endpoint: OAuthTokenEndpoint, sharing: (any SessionSharing)? = nil) {
        self.endpoint = endpoint
        self.sharing = sharing
    }

    /// The cached session, or a new one.
    func current() async throws -> SalesforceSession {
        if let session { return session }
        return try await self.joinOrStartRequest(replacing: nil)
    }

    /// The cached session if any, without asking for one.
    func cached() -> SalesforceSession? { self.session }

    /// A session newer than `stale` (which Salesforce refused): another caller's refresh if one
    /// already replaced it, otherwise one new token request shared by everyone asking meanwhile.
    func refresh(replacing stale: SalesforceSession?) async throws -> SalesforceSession {
        if let session, session.accessToken != stale?.accessToken { return session }
        self.session = nil
        return try await self.joinOrStartRequest(replacing: stale)
    }

    /// Drops the cached session so the next call asks for a new one.
    func invalidate() {
        self.session = nil
    }

    private func joinOrStartRequest(replacing stale: SalesforceSession?) async throws -> SalesforceSession {
        let task: Task<SalesforceSession, any Error>
        if let inFlight {
            task = inFlight
        } else {
            let (endpoint, sharing) = (self.endpoint, self.sharing)
            task = Task {
                guard let sharing else { return try await endpoint.requestSession() }
                return try await Self.sharedSession(endpoint: endpoint, sharing: sharing, replacing: stale)
            }
            self.inFlight = task
        }
        do {
            let fresh = try await task.value
            if self.inFlight == task {
                self.inFlight = nil
                self.session = fresh
            }
            return fresh
        } catch {
            if self.inFlight == task { self.inFlight = nil }
            throw error
        }
    }

    /// A session other than `stale`: one another process saved, or a new one this process asks
    /// for while it holds the connection's refresh turn. Waits for another process's request
    /// (checking every 100 ms) at most `wait`, then asks itself; trouble with the store never
    /// stops a token request.
    static func sharedSession(
        endpoint: OAuthTokenEndpoint, sharing: any SessionSharing, replacing stale: SalesforceSession?, wait: Duration = .seconds(30)
    ) async throws -> SalesforceSession {
        let deadline = ContinuousClock.now + wait
        func saved() async -> SalesforceSession? {
            guard let stored = try? await sharing.load(), stored.accessToken != stale?.accessToken else { return nil }
            return stored
        }
        while true {
            if let stored = await saved() { return stored }
            let turn = (try? await sharing.beginRefresh()) ?? true
            if turn || ContinuousClock.now >= deadline {
                // Saved between the look and the turn: no request needed.
                if turn, let stored = await saved() {
                    await sharing.endRefresh()
                    return stored
                }
                do {
                    let fresh = try await endpoint.requestSession()
                    try? await sharing.save(fresh)
                    if turn { await sharing.endRefresh() }
                    return fresh
                } catch {
                    if turn { await sharing.endRefresh() }
                    throw error
                }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}

/// Where the clients of one connection in several processes share its session (see
/// `SalesforceConnectionConfiguration.sessionSharing`).
public protocol SessionSharing: Sendable {
    /// The session last saved for the connection's current credentials, if any.
    func load() async throws -> SalesforceSession?
    func save(_ session: SalesforceSession) async throws
    /// True when this process may ask Salesforce for a token now: the connection's refresh turn,
    /// held until `endRefresh` or until its lease runs out (a process that died holding it).
    func beginRefresh() async throws -> Bool
    func endRefresh() async
}
