import Foundation
import Logging
import PostgresNIO
import PostgresStore
import Store
import Testing

/// Every store role (`SfdestStore`): both backends implement them all.
typealias ContractStore = SfdestStore

/// A backend the contract runs against: SQLite on a temporary file always; PostgreSQL on the
/// server `SFDEST_TEST_POSTGRES_URL` names (`.ci/run` and `scripts/test` start one), each test in
/// a database of its own. Under CI (`CI` set) the PostgreSQL case runs whether or not the URL is
/// there, and fails saying it is missing.
enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case postgres

    var testDescription: String { self.rawValue }

    static let postgresURL = ProcessInfo.processInfo.environment["SFDEST_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let available: [Backend] = postgresURL != nil || ProcessInfo.processInfo.environment["CI"] != nil ? [.sqlite, .postgres] : [.sqlite]

    static let logger: Logger = {
        var logger = Logger(label: "store-contract")
        logger.logLevel = .warning
        return logger
    }()

    /// Runs `body` with a fresh, empty store of this backend, sealing with `secrets`.
    func withStore(
        secrets: SecretBox = Backend.secrets, auditEntries: Int = 10_000, _ body: (any ContractStore) async throws -> Void
    ) async throws {
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-contract-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            var limits = SQLiteStore.Limits()
            limits.auditEntries = auditEntries
            try await body(try SQLiteStore(path: directory.appendingPathComponent("sfdest.sqlite").path, secrets: secrets, limits: limits))
        case .postgres:
            try await Self.withDatabase { url in
                var limits = PostgresStore.Limits()
                limits.auditEntries = auditEntries
                try await PostgresStore.run(url: url, secrets: secrets, limits: limits, logger: Self.logger) { store in
                    try await body(store)
                }
            }
        }
    }

    static let secrets: SecretBox = try! SecretBox(base64Key: SecretBox.generateKey())

    /// A database of its own on the test server for `body`, dropped afterwards.
    static func withDatabase(_ body: (PostgresURL) async throws -> Void) async throws {
        guard let text = Self.postgresURL else {
            throw BackendMissing("the PostgreSQL contract tests need a server: set SFDEST_TEST_POSTGRES_URL (scripts/postgres/test-server.sh start DIR prints one)")
        }
        let base = try PostgresURL(text)
        let name = "sfdest_t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        try await Self.admin(base) { client in
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: Self.logger)
        }
        do {
            try await body(base.database(name))
        } catch {
            try? await Self.drop(name, base)
            throw error
        }
        try await Self.drop(name, base)
    }

    private static func drop(_ name: String, _ base: PostgresURL) async throws {
        try await Self.admin(base) { client in
            try await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: Self.logger)
        }
    }

    /// A client of the server's base database for `body`.
    static func admin(_ url: PostgresURL, _ body: (PostgresClient) async throws -> Void) async throws {
        let client = PostgresClient(configuration: url.configuration, backgroundLogger: Self.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await body(client)
        }
    }
}

struct BackendMissing: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
