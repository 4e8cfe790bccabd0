import Foundation

/// API keys (stored as hashes) and the audit log of configuration changes.
public protocol AccessStore: Sendable {
    /// Saves a new key and, in the same transaction, its audit entry.
    func createAPIKey(_ key: APIKey, audit: AuditEntry) async throws
    /// The key whose hash this is, revoked and expired ones included (an indexed lookup).
    func apiKey(hash: String) async throws -> APIKey?
    /// Every key, oldest first, revoked ones included.
    func apiKeys() async throws -> [APIKey]
    /// Revokes a key at `at` and, in the same transaction, records `audit(before, after)`.
    /// Returns the key as it is now; nil when there is none. A key already revoked is left as it
    /// was, and nothing is recorded.
    func revokeAPIKey(id: String, at: Date, audit: @escaping @Sendable (APIKey, APIKey) -> AuditEntry) async throws -> APIKey?
    /// Notes that the key authenticated a request at `at`.
    func apiKeyUsed(id: String, at: Date) async throws
    /// Appends an entry, pruning the oldest past the retention in the same transaction.
    func recordAudit(_ entry: AuditEntry) async throws
    /// Entries newest first.
    func auditEntries(limit: Int) async throws -> [AuditEntry]
}
