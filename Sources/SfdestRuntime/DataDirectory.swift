import Foundation
import Store

/// The service's data directory: the SQLite database, the master key that seals secrets at rest,
/// and the bootstrap API key (itself sealed). Created on first use with owner-only permissions.
public struct DataDirectory: Sendable {
    public let url: URL
    public var databasePath: String { self.url.appendingPathComponent("sfdest.sqlite").path }
    var masterKeyURL: URL { self.url.appendingPathComponent("master.key") }
    var apiKeyURL: URL { self.url.appendingPathComponent("api-key.sealed") }

    /// What a data directory yields once opened.
    public struct Keys: Sendable {
        public let secrets: SecretBox
        public let apiKey: String
        /// True when the API key was generated now: it must be shown to the user once.
        public let apiKeyIsNew: Bool
        /// Where the master key came from, for the start-up message.
        public let masterKeySource: String
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
        if let fromEnvironment = environment["SFDEST_API_KEY"], !fromEnvironment.isEmpty {
            return Keys(secrets: secrets, apiKey: fromEnvironment, apiKeyIsNew: false, masterKeySource: source)
        }
        if files.fileExists(atPath: self.apiKeyURL.path) {
            let sealed = try Data(contentsOf: self.apiKeyURL)
            let apiKey = String(decoding: try secrets.open(sealed), as: UTF8.self)
            return Keys(secrets: secrets, apiKey: apiKey, apiKeyIsNew: false, masterKeySource: source)
        }
        let apiKey = "sfd_" + Self.randomToken()
        try Self.writePrivate(try secrets.seal(Data(apiKey.utf8)), to: self.apiKeyURL)
        return Keys(secrets: secrets, apiKey: apiKey, apiKeyIsNew: true, masterKeySource: source)
    }

    /// 32 random bytes as URL-safe base64 without padding.
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
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
