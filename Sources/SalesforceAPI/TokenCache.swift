/// The connection's current session, fetched at most once at a time (single-flight): callers that
/// need a token while a request for one is running wait for that request instead of starting another.
actor TokenCache {
    private let endpoint: OAuthTokenEndpoint
    private var session: SalesforceSession?
    private var inFlight: Task<SalesforceSession, any Error>?

    init(endpoint: OAuthTokenEndpoint) {
        self.endpoint = endpoint
    }

    /// The cached session, or a new one.
    func current() async throws -> SalesforceSession {
        if let session { return session }
        return try await self.joinOrStartRequest()
    }

    /// The cached session if any, without asking for one.
    func cached() -> SalesforceSession? { self.session }

    /// A session newer than `stale` (which Salesforce refused): another caller's refresh if one
    /// already replaced it, otherwise one new token request shared by everyone asking meanwhile.
    func refresh(replacing stale: SalesforceSession?) async throws -> SalesforceSession {
        if let session, session.accessToken != stale?.accessToken { return session }
        self.session = nil
        return try await self.joinOrStartRequest()
    }

    /// Drops the cached session so the next call asks for a new one.
    func invalidate() {
        self.session = nil
    }

    private func joinOrStartRequest() async throws -> SalesforceSession {
        let task: Task<SalesforceSession, any Error>
        if let inFlight {
            task = inFlight
        } else {
            let endpoint = self.endpoint
            task = Task { try await endpoint.requestSession() }
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
}
