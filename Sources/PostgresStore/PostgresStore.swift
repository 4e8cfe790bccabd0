import Foundation
import Logging
import PostgresNIO
import Store

/// sfdest's store on PostgreSQL, for several processes sharing one database. It implements the
/// store roles one by one, with the same behaviour as `SQLiteStore` (the contract suite in
/// `StoreContractTests` runs against both). Secrets are sealed with the same `SecretBox` and bound
/// to their rows the same way, so every process of a deployment needs the same master key.
///
/// Every role of `SfdestStore`. The queue's rules are `QueueLedger`'s, shared with SQLite; what is
/// PostgreSQL's own: claims with `FOR UPDATE SKIP LOCKED`, a lease and a fencing token, row locks,
/// advisory locks on the identities an ingest batch carries, one open alert per rule by a unique
/// index, webhook deliveries and bulk lane pages taken with `SKIP LOCKED`.
public final class PostgresStore: Sendable {
    /// How much of the audit log is kept: the newest `auditEntries`, none older than `auditDays`.
    public struct Limits: Sendable {
        public var auditEntries = 10_000
        public var auditDays = 365
        public init() {}
    }

    let client: PostgresClient
    let secrets: SecretBox
    let limits: Limits
    let logger: Logger

    init(client: PostgresClient, secrets: SecretBox, limits: Limits, logger: Logger) {
        self.client = client
        self.secrets = secrets
        self.limits = limits
        self.logger = logger
    }

    /// Connects to `url`, brings the schema up to date (once, whatever the number of processes
    /// starting: under an advisory lock), runs `body` with the store, and closes the connections
    /// when `body` returns or throws.
    @discardableResult
    public static func run<T: Sendable>(
        url: PostgresURL, secrets: SecretBox, limits: Limits = Limits(), logger: Logger,
        _ body: (PostgresStore) async throws -> T
    ) async throws -> T {
        let client = PostgresClient(configuration: url.configuration, backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            let store = PostgresStore(client: client, secrets: secrets, limits: limits, logger: logger)
            do {
                try await store.migrate()
                try await store.checkMasterKey()
            } catch let error as PostgresStoreError {
                throw error
            } catch let error as PSQLError {
                throw PostgresStoreError.unreachable(url: url, detail: error.serverInfo?[.message] ?? "\(error.code)")
            } catch {
                // The pool gave up connecting (refused, no route, wrong port).
                throw PostgresStoreError.unreachable(url: url, detail: "\(error)")
            }
            return try await body(store)
        }
    }

    /// The context the key check's sealed value is bound to.
    static let keyCheckContext = "store_keys/key_check/sealed"

    /// Refuses to start with a master key other than the deployment's: the first process seals a
    /// known value; every later one must open it (secrets sealed by one process are opened by
    /// the others only when all hold the same key).
    func checkMasterKey() async throws {
        let sealed = try self.secrets.seal(Data("sfdest".utf8), boundTo: Self.keyCheckContext)
        try await self.client.query(
            "INSERT INTO store_keys (name, sealed) VALUES ('key_check', \(sealed)) ON CONFLICT (name) DO NOTHING", logger: self.logger
        )
        let stored = try await self.rows("SELECT sealed FROM store_keys WHERE name = 'key_check'").first?.value("sealed", as: Data.self)
        guard let stored, (try? self.secrets.open(stored, boundTo: Self.keyCheckContext)) == Data("sfdest".utf8) else {
            throw PostgresStoreError.wrongMasterKey
        }
    }

    /// A transaction on one pooled connection. What `body` throws is what the caller gets (a
    /// `StoreConflict`, say), not PostgresNIO's wrapper around it; the transaction is rolled back.
    func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await self.client.withTransaction(logger: self.logger) { connection in try await body(connection) }
        } catch let error as PostgresTransactionError {
            if let thrown = error.closureError { throw thrown }
            throw error
        }
    }

    /// The rows a query answers, each readable by column name.
    func rows(_ query: PostgresQuery, on connection: PostgresConnection? = nil) async throws -> [PostgresRandomAccessRow] {
        let sequence: PostgresRowSequence
        if let connection {
            sequence = try await connection.query(query, logger: self.logger)
        } else {
            sequence = try await self.client.query(query, logger: self.logger)
        }
        var rows: [PostgresRandomAccessRow] = []
        for try await row in sequence { rows.append(row.makeRandomAccess()) }
        return rows
    }
}

/// Why the store could not start, in words a person can act on.
public enum PostgresStoreError: Error, CustomStringConvertible {
    case unreachable(url: PostgresURL, detail: String)
    case storedWord(column: String, value: String)
    case wrongMasterKey

    public var description: String {
        switch self {
        case .unreachable(let url, let detail):
            return "could not open the PostgreSQL database \(url) (\(detail)): check the URL, that the server runs and accepts this user, then start again"
        case .wrongMasterKey:
            return "this process's master key cannot open the database's secrets: give every process of the deployment the same SFDEST_MASTER_KEY (the one the first process started with)"
        case .storedWord(let column, let value):
            return "the stored \(column) '\(value)' is not one this version of sfdest knows (a newer version wrote it?)"
        }
    }
}

extension PostgresRandomAccessRow {
    /// The column's value, read as `type`.
    func value<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try self[column].decode(T.self, context: .default)
    }

    /// A time stored as seconds since 1970 (as SQLite's store keeps them: exact round trips).
    func date(_ column: String) throws -> Date {
        Date(timeIntervalSince1970: try self.value(column, as: Double.self))
    }

    func optionalDate(_ column: String) throws -> Date? {
        try self.value(column, as: Double?.self).map(Date.init(timeIntervalSince1970:))
    }

    /// A stored word read back as its enum; a word this version does not know is reported, not guessed.
    func word<Value: RawRepresentable<String>>(_ column: String, as type: Value.Type = Value.self) throws -> Value {
        let text = try self.value(column, as: String.self)
        guard let value = Value(rawValue: text) else { throw PostgresStoreError.storedWord(column: column, value: text) }
        return value
    }
}
