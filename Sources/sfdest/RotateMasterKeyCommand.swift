import ArgumentParser
import Foundation
import SfdestRuntime

/// `sfdest rotate-master-key`: re-seals every stored secret under a new master key.
struct RotateMasterKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-master-key",
        abstract: "Re-seal every stored secret under a new master key (stop the service first).",
        discussion: """
            The new key is SFDEST_NEW_MASTER_KEY, or generated. With the data dir's master.key, the new key \
            replaces it once everything is re-sealed; an interrupted rotation is finished by running this again. \
            With SFDEST_MASTER_KEY, the new key must be given as SFDEST_NEW_MASTER_KEY (store it in the secret \
            manager first) and must replace SFDEST_MASTER_KEY before the service starts again.
            """
    )

    @Option(help: "Data directory of the service.")
    var dataDir = "./.sfdest"

    func run() async throws {
        guard FileManager.default.fileExists(atPath: self.dataDir) else {
            throw ValidationError("no data directory at \(self.dataDir)")
        }
        let rotation: MasterKeyRotation
        do {
            rotation = try await DataDirectory(path: self.dataDir).rotateMasterKey()
        } catch let error as DataDirectoryError {
            throw ValidationError(error.description)
        }
        print("re-sealed \(rotation.resealed) secret(s) under the new master key")
        if let file = rotation.keyFile {
            print("the new key is in \(file) (mode 0600); back it up apart from the database")
        } else if let key = rotation.newKeyToShow {
            print("new master key (shown only now): \(key)")
            print("set SFDEST_MASTER_KEY to it before starting the service again")
        } else {
            print("set SFDEST_MASTER_KEY to the value of SFDEST_NEW_MASTER_KEY before starting the service again")
        }
    }
}
