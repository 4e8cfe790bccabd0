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
        return try await ScratchDatabase.with(on: try PostgresURL(text), prefix: "sfdest_t_", logger: Self.logger, body)
    }

    /// A client of the database `url` names, for `body`.
    public static func admin(_ url: PostgresURL, _ body: (PostgresClient) async throws -> Void) async throws {
        try await ScratchDatabase.admin(url, logger: Self.logger, body)
    }

    /// The names of the test server's databases that start with `prefix`.
    public static func databases(startingWith prefix: String) async throws -> [String] {
        guard let text = Self.serverURL else { return [] }
        var names: [String] = []
        try await Self.admin(try PostgresURL(text)) { client in
            for try await name in try await client.query("SELECT datname FROM pg_database ORDER BY datname", logger: Self.logger).decode(String.self)
            where name.hasPrefix(prefix) {
                names.append(name)
            }
        }
        return names
    }

    public struct MissingServer: Error, CustomStringConvertible {
        public let description: String
    }
}

extension PostgresURL {
    /// The URL as `sfdest serve --postgres` takes it (password included: for test servers only).
    public var commandLineText: String { self.text }
}
