import Foundation
import Logging
import PostgresNIO

/// A database made for one run (a test, a bench) on a server and dropped after it, so nothing of
/// the server's other databases is touched. The URL's user must be allowed to create databases.
public enum ScratchDatabase {
    /// A fresh database named `prefix` and a random suffix on `server`'s server, for `body`;
    /// dropped afterwards (also when `body` throws).
    public static func with<T: Sendable>(
        on server: PostgresURL, prefix: String, logger: Logger, _ body: (PostgresURL) async throws -> T
    ) async throws -> T {
        let name = prefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        try await Self.admin(server, logger: logger) { client in
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        }
        do {
            let result = try await body(server.database(name))
            try await Self.drop(name, on: server, logger: logger)
            return result
        } catch {
            try? await Self.drop(name, on: server, logger: logger)
            throw error
        }
    }

    private static func drop(_ name: String, on server: PostgresURL, logger: Logger) async throws {
        try await Self.admin(server, logger: logger) { client in
            try await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger)
        }
    }

    /// A client of the database `url` names, for `body`.
    public static func admin(_ url: PostgresURL, logger: Logger, _ body: (PostgresClient) async throws -> Void) async throws {
        let client = PostgresClient(configuration: url.configuration, backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await body(client)
        }
    }
}

extension PostgresURL {
    /// The URL as `sfdest serve --postgres` and `SFDEST_POSTGRES_URL` take it, password included:
    /// hand it to a child process through its environment, not its command line.
    public var text: String {
        let password = self.password.map { ":" + ($0.addingPercentEncoding(withAllowedCharacters: .urlPasswordAllowed) ?? $0) } ?? ""
        return "postgres://\(self.username)\(password)@\(self.host):\(self.port)/\(self.database)?sslmode=\(self.sslMode)"
    }
}
