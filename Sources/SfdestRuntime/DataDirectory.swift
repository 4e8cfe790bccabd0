import Foundation
import Store

/// The service's data directory: the SQLite database, the master key that seals secrets at rest,
/// and the bootstrap API key's hash (the key itself is shown once, when generated). Created on
/// first use with owner-only permissions.
public struct DataDirectory: Sendable {
    public let url: URL
    public var databasePath: String { self.url.appendingPathComponent("sfdest.sqlite").path }
    var masterKeyURL: URL { self.url.appendingPathComponent("master.key") }
    /// The next master key while `sfdest rotate-master-key` runs (present only if it was interrupted).
    var nextMasterKeyURL: URL { self.url.appendingPathComponent("master.key.new") }
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
        guard !files.fileExists(atPath: self.nextMasterKeyURL.path) else {
            throw DataDirectoryError(
                "\(self.nextMasterKeyURL.path) exists: a master key rotation was interrupted. Run `sfdest rotate-master-key --data-dir \(self.url.path)` again to finish it"
            )
        }
        try Self.requireNotWritableByOthers(self.url)
        let (secrets, source) = try self.masterKey(environment: environment)
        let apiKey = try self.openAPIKey(environment: environment, secrets: secrets)
        return Keys(
            secrets: secrets, apiKey: apiKey.key, apiKeyHash: apiKey.hash, apiKeyIsNew: apiKey.isNew, masterKeySource: source,
            apiKeyMigrated: apiKey.migrated
        )
    }

    /// The keys of a process sharing a database with others (PostgreSQL): both from the
    /// environment, since every process of the deployment must hold the same ones (a key
    /// generated here would seal secrets no other process opens).
    public static func sharedKeys(environment: [String: String]) throws -> Keys {
        guard let master = environment["SFDEST_MASTER_KEY"], !master.isEmpty else {
            throw DataDirectoryError(
                "with --postgres every process needs the deployment's master key: set SFDEST_MASTER_KEY to the same value for all of them (generate one with: openssl rand -base64 32)"
            )
        }
        guard let apiKey = environment["SFDEST_API_KEY"], !apiKey.isEmpty else {
            throw DataDirectoryError(
                "with --postgres every process needs the deployment's bootstrap key: set SFDEST_API_KEY to the same value for all of them (generate one with: openssl rand -base64 32)"
            )
        }
        guard apiKey.count >= Self.minimumAPIKeyLength else {
            throw DataDirectoryError(
                "SFDEST_API_KEY has \(apiKey.count) characters; an admin key needs at least \(Self.minimumAPIKeyLength) (generate one with: openssl rand -base64 32)"
            )
        }
        let secrets: SecretBox
        do {
            secrets = try SecretBox(base64Key: master)
        } catch {
            throw DataDirectoryError("the master key from SFDEST_MASTER_KEY is not valid: \(error)")
        }
        return Keys(
            secrets: secrets, apiKey: apiKey, apiKeyHash: APIKeyMaterial.hash(apiKey), apiKeyIsNew: false, masterKeySource: "SFDEST_MASTER_KEY",
            apiKeyMigrated: false
        )
    }

    /// The master key: `SFDEST_MASTER_KEY`, else the data dir's `master.key` (refused when group
    /// or world can read it), else a new one generated into `master.key` (mode 0600 from the start).
    func masterKey(environment: [String: String]) throws -> (SecretBox, source: String) {
        let masterKey: String
        let source: String
        if let fromEnvironment = environment["SFDEST_MASTER_KEY"], !fromEnvironment.isEmpty {
            masterKey = fromEnvironment
            source = "SFDEST_MASTER_KEY"
        } else if FileManager.default.fileExists(atPath: self.masterKeyURL.path) {
            try Self.requirePrivate(self.masterKeyURL)
            masterKey = try String(contentsOf: self.masterKeyURL, encoding: .utf8)
            source = self.masterKeyURL.path
        } else {
            masterKey = SecretBox.generateKey()
            try Self.writePrivate(Data(masterKey.utf8), to: self.masterKeyURL)
            source = "\(self.masterKeyURL.path) (generated)"
        }
        do {
            return (try SecretBox(base64Key: masterKey), source)
        } catch {
            throw DataDirectoryError("the master key from \(source) is not valid: \(error)")
        }
    }

    /// Refuses a key file that its group or others may read or write: whoever can read it can
    /// open every stored secret.
    static func requirePrivate(_ url: URL) throws {
        var info = stat()
        guard lstat(url.path, &info) == 0 else {
            throw DataDirectoryError("cannot read \(url.path): \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw DataDirectoryError("\(url.path) is not a regular file (a symbolic link?): replace it with the key file itself")
        }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw DataDirectoryError(
                "\(url.path) can be read by other users (mode \(String(mode, radix: 8))): run `chmod 600 \(url.path)`, and consider the stored secrets exposed if others had access"
            )
        }
    }

    /// Refuses a data directory that its group or others may write: they could replace the key
    /// files (plant an admin key's hash) or the database.
    static func requireNotWritableByOthers(_ url: URL) throws {
        var info = stat()
        guard stat(url.path, &info) == 0 else {
            throw DataDirectoryError("cannot read \(url.path): \(String(cString: strerror(errno)))")
        }
        let mode = info.st_mode & 0o777
        guard mode & 0o022 == 0 else {
            throw DataDirectoryError(
                "the data directory \(url.path) can be written by other users (mode \(String(mode, radix: 8))): run `chmod 700 \(url.path)`"
            )
        }
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

    /// Writes a file readable by its owner only, replacing any old one atomically: the bytes go to
    /// a new file created with mode 0600 (never briefly readable under a loose umask), are
    /// flushed to disk, and the file is renamed over the old one.
    static func writePrivate(_ data: Data, to url: URL) throws {
        let temporary = url.path + ".tmp-\(getpid())"
        // A file left by a crash of an earlier process with the same pid (pid 1 in a container).
        unlink(temporary)
        let fd = createOwnerOnlyFile(temporary)
        guard fd >= 0 else {
            throw DataDirectoryError("cannot write \(temporary): \(String(cString: strerror(errno))); check that the data directory is writable")
        }
        var failure: String?
        data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = writeBytes(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                offset += written
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        closeFile(fd)
        if failure == nil, rename(temporary, url.path) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(temporary)
            throw DataDirectoryError("cannot write \(url.path): \(failure); check that the data directory is writable")
        }
    }
}

/// A data directory that cannot be used, with what to do about it.
public struct DataDirectoryError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

// The POSIX calls, at file scope where their names are not shadowed by `DataDirectory.open`.
private func createOwnerOnlyFile(_ path: String) -> Int32 {
    open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
}

private func writeBytes(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, bytes, count)
}

private func closeFile(_ fd: Int32) {
    _ = close(fd)
}

/// What `rotateMasterKey` did.
public struct MasterKeyRotation: Sendable {
    /// Sealed values re-sealed under the new key.
    public let resealed: Int
    /// The new key, when it must be handed to the user; nil when it was written to `master.key` or
    /// came from `SFDEST_NEW_MASTER_KEY` (required when the old one came from `SFDEST_MASTER_KEY`).
    public let newKeyToShow: String?
    /// Where the new key was written, if it was.
    public let keyFile: String?
}

extension DataDirectory {
    /// Re-seals every stored secret under a new master key. The new key is
    /// `SFDEST_NEW_MASTER_KEY` or generated. With a key file, the new key is first written to
    /// `master.key.new`, the database re-sealed in one transaction, then the file renamed over
    /// `master.key`; a run that was interrupted is finished by running it again. With
    /// `SFDEST_MASTER_KEY`, the new key is returned to be stored in the secret manager. The
    /// service must be stopped meanwhile.
    public func rotateMasterKey(environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> MasterKeyRotation {
        let files = FileManager.default
        guard files.fileExists(atPath: self.databasePath) else {
            throw DataDirectoryError("no database at \(self.databasePath): there is nothing to re-seal")
        }
        let fromEnvironment = !(environment["SFDEST_MASTER_KEY"] ?? "").isEmpty
        guard !fromEnvironment || !(environment["SFDEST_NEW_MASTER_KEY"] ?? "").isEmpty else {
            // A new key that existed only on this process's output would be every secret lost
            // if that output were lost: it must come from where the old one came from.
            throw DataDirectoryError(
                "the master key comes from SFDEST_MASTER_KEY: put the new one in your secret manager first and give it as SFDEST_NEW_MASTER_KEY (generate one with: openssl rand -base64 32)"
            )
        }
        let (old, source) = try self.masterKey(environment: environment)
        let newKey: String
        if !fromEnvironment, files.fileExists(atPath: self.nextMasterKeyURL.path) {
            try Self.requirePrivate(self.nextMasterKeyURL)
            newKey = try String(contentsOf: self.nextMasterKeyURL, encoding: .utf8)
        } else if let given = environment["SFDEST_NEW_MASTER_KEY"], !given.isEmpty {
            newKey = given
        } else {
            newKey = SecretBox.generateKey()
        }
        let new: SecretBox
        do {
            new = try SecretBox(base64Key: newKey)
        } catch {
            throw DataDirectoryError("the new master key is not valid: \(error)")
        }
        if !fromEnvironment, !files.fileExists(atPath: self.nextMasterKeyURL.path) {
            try Self.writePrivate(Data(newKey.utf8), to: self.nextMasterKeyURL)
        }
        let resealed: Int
        do {
            let store = try SQLiteStore(path: self.databasePath, secrets: old)
            resealed = try await store.resealSecrets(under: new)
        } catch is SecretBoxError {
            throw DataDirectoryError("a stored secret opens with neither the master key from \(source) nor the new one: give the key the data was sealed with")
        }
        // The bootstrap API key, if it is still kept sealed in the data dir.
        if files.fileExists(atPath: self.sealedAPIKeyURL.path) {
            let sealed = try Data(contentsOf: self.sealedAPIKeyURL)
            if (try? new.open(sealed)) == nil {
                try Self.writePrivate(try new.seal(try old.open(sealed)), to: self.sealedAPIKeyURL)
            }
        }
        if fromEnvironment {
            return MasterKeyRotation(resealed: resealed, newKeyToShow: nil, keyFile: nil)
        }
        guard rename(self.nextMasterKeyURL.path, self.masterKeyURL.path) == 0 else {
            throw DataDirectoryError("re-sealed, but cannot replace \(self.masterKeyURL.path): \(String(cString: strerror(errno))). Run the rotation again")
        }
        return MasterKeyRotation(resealed: resealed, newKeyToShow: nil, keyFile: self.masterKeyURL.path)
    }
}
