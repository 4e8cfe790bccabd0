import Foundation
import GRDB

/// What each sealed value is bound to (AES-GCM associated data): its table, row and column. A
/// sealed value copied into another row, or into another column of its row, does not open. A
/// connection's secrets are bound to where and as whom they log in, too: whoever can write the
/// database but lacks the master key cannot point stored credentials at another host (even
/// another Salesforce org's) by editing its row.
public enum SealContext {
    public static func connection(
        id: String, loginKind: String, loginValue: String, authType: String, username: String?, clientId: String
    ) -> String {
        let identity = [loginKind, loginValue, authType, username ?? "", clientId]
        let encoded = (try? JSONEncoder().encode(identity)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return "connections/\(id)/sealed_secrets/\(encoded)"
    }

    public static func connection(_ connection: Connection) -> String {
        Self.connection(
            id: connection.id, loginKind: connection.loginKind.rawValue, loginValue: connection.loginValue,
            authType: connection.authType.rawValue, username: connection.username, clientId: connection.clientId
        )
    }

    /// The context of a `connections` row (it must have the identity columns).
    static func connection(row: Row) -> String {
        Self.connection(
            id: row["id"], loginKind: row["login_kind"], loginValue: row["login_value"], authType: row["auth_type"],
            username: row["username"], clientId: row["client_id"]
        )
    }
    /// A connection's shared Salesforce session, for the credentials of `credentialsAt`.
    public static func session(_ connectionId: String, credentialsAt: Date) -> String {
        "salesforce_sessions/\(connectionId)/\(credentialsAt.timeIntervalSince1970)/sealed"
    }
    public static func subscriptionSecret(_ id: String) -> String { "alert_subscriptions/\(id)/sealed_secret" }
    /// A message kept for a web UI session's next page.
    public static func webFlash(_ sessionHash: String) -> String { "web_flashes/\(sessionHash)/sealed" }
    public static func subscriptionURL(_ id: String) -> String { "alert_subscriptions/\(id)/sealed_url" }

    /// Every sealed column of the schema (for re-sealing under a new master key): table, column,
    /// and the context of a row given its id.
    static let sealedColumns: [(table: String, column: String, context: @Sendable (Row) -> String)] = [
        ("connections", "sealed_secrets", { Self.connection(row: $0) }),
        ("alert_subscriptions", "sealed_secret", { Self.subscriptionSecret($0["id"]) }),
        ("alert_subscriptions", "sealed_url", { Self.subscriptionURL($0["id"]) }),
    ]
}

extension SQLiteStore {
    /// Re-seals every sealed value under `newKey`, in one transaction, and erases the old
    /// ciphertexts from the files. A value that opens with the new key already (a rotation that
    /// was interrupted and is run again) is left as it is. Returns how many values were re-sealed.
    /// The service must not run meanwhile: it would keep sealing with the old key.
    public func resealSecrets(under newKey: SecretBox) async throws -> Int {
        let old = self.secrets
        let resealed = try await self.erase { db in
            var resealed = 0
            for (table, column, context) in SealContext.sealedColumns {
                for row in try Row.fetchAll(db, sql: "SELECT *, \(column) AS sealed FROM \(table) WHERE \(column) IS NOT NULL") {
                    let id: String = row["id"]
                    let sealed: Data = row["sealed"]
                    let bound = context(row)
                    if (try? newKey.open(sealed, boundTo: bound)) != nil { continue }
                    let plain: Data
                    do {
                        plain = try old.open(sealed, boundTo: bound)
                    } catch {
                        throw SecretBoxError.wrongKey
                    }
                    try db.execute(
                        sql: "UPDATE \(table) SET \(column) = ? WHERE id = ?",
                        arguments: [try newKey.seal(plain, boundTo: bound), id]
                    )
                    resealed += 1
                }
            }
            return resealed
        }
        // Ciphertexts under the old key may survive in free pages from earlier replacements.
        try await self.compact()
        return resealed
    }
}
