import ArgumentParser
import Foundation
import SfdestRuntime

/// `sfdest api-key`: shows the bootstrap API key kept (sealed) in a data directory.
struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api-key",
        abstract: "Print the API key of a data directory (it is stored sealed with the master key)."
    )

    @Option(help: "Data directory of the service.")
    var dataDir = "./.sfdest"

    func run() throws {
        guard FileManager.default.fileExists(atPath: self.dataDir) else {
            throw ValidationError("no data directory at \(self.dataDir): start the service once with `sfdest serve --data-dir \(self.dataDir)`")
        }
        let keys = try DataDirectory(path: self.dataDir).open()
        print(keys.apiKey)
    }
}
