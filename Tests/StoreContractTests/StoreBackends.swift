import Foundation
import Logging
import PostgresNIO
import PostgresStore
import SfdestTestSupport
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

    static let available: [Backend] = PostgresTestDatabase.enabled ? [.sqlite, .postgres] : [.sqlite]

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
            try await PostgresTestDatabase.with { url in
                var limits = PostgresStore.Limits()
                limits.auditEntries = auditEntries
                try await PostgresStore.run(url: url, secrets: secrets, limits: limits, logger: Self.logger) { store in
                    try await body(store)
                }
            }
        }
    }

    static let secrets: SecretBox = try! SecretBox(base64Key: SecretBox.generateKey())
}
