import Foundation
import GRDB

/// What each sealed value is bound to (AES-GCM associated data): its table, row and column. A
/// sealed value copied into another row, or into another column of its row, does not open.
enum SealContext {
    static func connection(_ id: String) -> String { "connections/\(id)/sealed_secrets" }
    static func subscriptionSecret(_ id: String) -> String { "alert_subscriptions/\(id)/sealed_secret" }
    static func subscriptionURL(_ id: String) -> String { "alert_subscriptions/\(id)/sealed_url" }

    /// Every sealed column of the schema (for re-sealing under a new master key): table, column,
    /// and the context of a row given its id.
    static let sealedColumns: [(table: String, column: String, context: @Sendable (String) -> String)] = [
        ("connections", "sealed_secrets", Self.connection),
        ("alert_subscriptions", "sealed_secret", Self.subscriptionSecret),
        ("alert_subscriptions", "sealed_url", Self.subscriptionURL),
    ]
}

extension SQLiteStore {
    /// Re-seals every sealed value under `newKey`, in one transaction, and erases the old
    /// ciphertexts from the files. A value that opens with the new key already (a rotation that
    /// was interrupted and is run again) is left as it is. Returns how many values were re-sealed.
    /// The service must not run meanwhile: it would keep sealing with the old key.
    public func resealSecrets(under newKey: SecretBox) async throws -> Int {
        let old = self.secrets
        return try await self.erase { db in
            var resealed = 0
            for (table, column, context) in SealContext.sealedColumns {
                for row in try Row.fetchAll(db, sql: "SELECT id, \(column) AS sealed FROM \(table) WHERE \(column) IS NOT NULL") {
                    let id: String = row["id"]
                    let sealed: Data = row["sealed"]
                    if (try? newKey.open(sealed, boundTo: context(id))) != nil { continue }
                    let plain: Data
                    do {
                        plain = try old.open(sealed, boundTo: context(id))
                    } catch {
                        throw SecretBoxError.wrongKey
                    }
                    try db.execute(
                        sql: "UPDATE \(table) SET \(column) = ? WHERE id = ?",
                        arguments: [try newKey.seal(plain, boundTo: context(id)), id]
                    )
                    resealed += 1
                }
            }
            return resealed
        }
    }
}
