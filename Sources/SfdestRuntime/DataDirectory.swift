import Foundation
import Store

/// The service's data directory: the SQLite database, the master key that seals secrets at rest,
/// and the bootstrap API key's hash (the key itself is shown once, when generated). Created on
/// first use with owner-only permissions.
public struct DataDirectory: Sendable {
    public let url: URL
    public var databasePath: String { self.url.appendingPathComponent("sfdest.sqlite").path }
    var masterKeyURL: URL { self.url.appendingPathComponent("master.key") }
    /// The bootstrap API key's SHA-256 (hex); the key itself is kept nowhere.
    var apiKeyHashURL: URL { self.url.appendingPathComponent("api-key.sha256") }
    /// Where versions before the hashed key kept it sealed; migrated on open.
    var sealedAPIKeyURL: URL { self.url.appendingPathComponent("api-key.sealed") }

    /// What a data directory yields once opened.
    public struct Keys: Sendable {
        public let secrets: SecretBox
        /// The bootstrap (admin) key when it is known: from `SFDEST_API_KEY`, or generated or
        /// migrated by this open. Nil when only its hash is kept in the data directory.
        public let apiKey: String?
        /// The SHA-256 (hex) of the bootstrap key: what requests are checked against.
        public let apiKeyHash: String
        /// True when the API key was generated now: it must be shown to the user once.
        public let apiKeyIsNew: Bool
        /// Where the master key came from, for the start-up message.
        public let masterKeySource: String
        /// True when a key sealed by an earlier version was hashed now: this is the last time it
        /// can be shown.
        public let apiKeyMigrated: Bool

        /// The bootstrap key, where it must be known: a fresh data directory always generates it
        /// (the demo, the bench, the test harnesses), and `SFDEST_API_KEY` gives it.
        public func requireAPIKey() throws -> String {
            guard let apiKey = self.apiKey else {
                throw DataDirectoryError("the data directory keeps only the API key's hash: set SFDEST_API_KEY, or create a key with `sfdest keys create`")
            }
            return apiKey
        }
    }

    public init(path: String) {
        self.url = URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
    }

    /// Creates the directory if needed and reads or generates the keys. `SFDEST_MASTER_KEY` and
    /// `SFDEST_API_KEY` in the environment take precedence over the files.
    public func open(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Keys {
        let files = FileManager.default
        try files.createDirectory(at: self.url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let masterKey: String
        let source: String
        if let fromEnvironment = environment["SFDEST_MASTER_KEY"], !fromEnvironment.isEmpty {
            masterKey = fromEnvironment
            source = "SFDEST_MASTER_KEY"
        } else if files.fileExists(atPath: self.masterKeyURL.path) {
            masterKey = try String(contentsOf: self.masterKeyURL, encoding: .utf8)
            source = self.masterKeyURL.path
        } else {
            masterKey = SecretBox.generateKey()
            try Self.writePrivate(Data(masterKey.utf8), to: self.masterKeyURL)
            source = "\(self.masterKeyURL.path) (generated)"
        }
        let secrets: SecretBox
        do {
            secrets = try SecretBox(base64Key: masterKey)
        } catch {
            throw DataDirectoryError("the master key from \(source) is not valid: \(error)")
        }
        let apiKey = try self.openAPIKey(environment: environment, secrets: secrets)
        return Keys(
            secrets: secrets, apiKey: apiKey.key, apiKeyHash: apiKey.hash, apiKeyIsNew: apiKey.isNew, masterKeySource: source,
            apiKeyMigrated: apiKey.migrated
        )
    }

    /// The shortest `SFDEST_API_KEY` accepted: a bootstrap key is an admin key, so it must not
    /// be guessable.
    public static let minimumAPIKeyLength = 32

    /// The bootstrap key: `SFDEST_API_KEY`, else the hash kept in the data directory, else a new
    /// key (whose hash is kept). A key sealed by an earlier version is hashed and its file removed.
    private func openAPIKey(
        environment: [String: String], secrets: SecretBox
    ) throws -> (key: String?, hash: String, isNew: Bool, migrated: Bool) {
        let files = FileManager.default
        var migratedKey: String?
        if files.fileExists(atPath: self.sealedAPIKeyURL.path) {
            let sealed = try Data(contentsOf: self.sealedAPIKeyURL)
            let key = String(decoding: try secrets.open(sealed), as: UTF8.self)
            try Self.writePrivate(Data(APIKeyMaterial.hash(key).utf8), to: self.apiKeyHashURL)
            try files.removeItem(at: self.sealedAPIKeyURL)
            migratedKey = key
        }
        if let fromEnvironment = environment["SFDEST_API_KEY"], !fromEnvironment.isEmpty {
            guard fromEnvironment.count >= Self.minimumAPIKeyLength else {
                throw DataDirectoryError(
                    "SFDEST_API_KEY has \(fromEnvironment.count) characters; an admin key needs at least \(Self.minimumAPIKeyLength) "
                        + "(generate one with: openssl rand -base64 32)"
                )
            }
            return (fromEnvironment, APIKeyMaterial.hash(fromEnvironment), false, false)
        }
        if let migratedKey {
            return (migratedKey, APIKeyMaterial.hash(migratedKey), false, true)
        }
        if files.fileExists(atPath: self.apiKeyHashURL.path) {
            let hash = try String(contentsOf: self.apiKeyHashURL, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            guard hash.count == 64, hash.allSatisfy(\.isHexDigit) else {
                throw DataDirectoryError("\(self.apiKeyHashURL.path) is not a SHA-256 in hex: remove it to have a new API key generated")
            }
            return (nil, hash.lowercased(), false, false)
        }
        let key = APIKeyMaterial.generate()
        try Self.writePrivate(Data(APIKeyMaterial.hash(key).utf8), to: self.apiKeyHashURL)
        return (key, APIKeyMaterial.hash(key), true, false)
    }

    /// Writes a file readable by its owner only (mode 0600), replacing any old one.
    static func writePrivate(_ data: Data, to url: URL) throws {
        let files = FileManager.default
        if files.fileExists(atPath: url.path) { try files.removeItem(at: url) }
        guard files.createFile(atPath: url.path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw DataDirectoryError("cannot write \(url.path): check that the data directory is writable")
        }
    }
}

/// A data directory that cannot be used, with what to do about it.
public struct DataDirectoryError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
