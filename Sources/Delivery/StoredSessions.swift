import Foundation
import Logging
import SalesforceAPI
import Store

/// A connection's session shared through the store by every process of a deployment: sealed in
/// `SessionStore` for the connection's current credentials, refreshed under the turn
/// `token:<connection>` (30 s, ended as soon as the new session is saved).
struct StoredSessions: SessionSharing {
    static let refreshLease: TimeInterval = 30

    let store: any SessionStore & TurnStore
    let connectionId: String
    let credentialsAt: Date
    let holder: Int64
    let logger: Logger

    var turn: String { "token:\(self.connectionId)" }

    func load() async throws -> SalesforceSession? {
        try await self.store.storedSession(connectionId: self.connectionId, credentialsAt: self.credentialsAt)
            .flatMap(SalesforceSession.init(sharedForm:))
    }

    func save(_ session: SalesforceSession) async throws {
        do {
            try await self.store.saveSession(session.sharedForm, connectionId: self.connectionId, credentialsAt: self.credentialsAt, at: Date())
        } catch {
            self.logger.warning("could not share the new Salesforce session; other processes ask for their own", metadata: [
                "connection": "\(self.connectionId)", "error": "\(error)",
            ])
            throw error
        }
    }

    func beginRefresh() async throws -> Bool {
        try await self.store.takeTurn(self.turn, holder: self.holder, lease: Self.refreshLease, now: Date())
    }

    func endRefresh() async {
        try? await self.store.releaseTurn(self.turn, holder: self.holder)
    }
}
