import Foundation
import Logging
import PostgresNIO
import PostgresStore

/// Databases of their own on the test PostgreSQL server (`SFDEST_TEST_POSTGRES_URL`; `.ci/run` and
/// `scripts/test` start one), made for one test and dropped after it.
public enum PostgresTestDatabase {
    public static let serverURL = ProcessInfo.processInfo.environment["SFDEST_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    /// Whether the PostgreSQL tests run: a server is named, or this is CI (where a missing one fails
    /// the tests saying so, instead of skipping them).
    public static let enabled = serverURL != nil || ProcessInfo.processInfo.environment["CI"] != nil

    public static let logger: Logger = {
        var logger = Logger(label: "postgres-test")
        logger.logLevel = .warning
        return logger
    }()

    /// A fresh database for `body`, dropped afterwards (also when `body` throws).
    public static func with<T: Sendable>(_ body: (PostgresURL) async throws -> T) async throws -> T {
        guard let text = Self.serverURL else {
            throw MissingServer(description: "the PostgreSQL tests need a server: set SFDEST_TEST_POSTGRES_URL (scripts/postgres/test-server.sh start DIR prints one)")
        }
        let base = try PostgresURL(text)
        let name = "sfdest_t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        try await Self.admin(base) { client in
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: Self.logger)
        }
        do {
            let result = try await body(base.database(name))
            try await Self.drop(name, base)
            return result
        } catch {
            try? await Self.drop(name, base)
            throw error
        }
    }

    private static func drop(_ name: String, _ base: PostgresURL) async throws {
        try await Self.admin(base) { client in
            try await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: Self.logger)
        }
    }

    /// A client of the database `url` names, for `body`.
    public static func admin(_ url: PostgresURL, _ body: (PostgresClient) async throws -> Void) async throws {
        let client = PostgresClient(configuration: url.configuration, backgroundLogger: Self.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await body(client)
        }
    }

    public struct MissingServer: Error, CustomStringConvertible {
        public let description: String
    }
}

extension PostgresURL {
    /// The URL as `sfdest serve --postgres` takes it (password included: for test servers only).
    public var commandLineText: String {
        let password = self.password.map { ":" + ($0.addingPercentEncoding(withAllowedCharacters: .urlPasswordAllowed) ?? $0) } ?? ""
        return "postgres://\(self.username)\(password)@\(self.host):\(self.port)/\(self.database)?sslmode=\(self.sslMode)"
    }
}
