import ArgumentParser
import Foundation
import Logging
import SfdestRuntime

/// `sfdest serve`: the service.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the service: the HTTP API, ingest and delivery, on SQLite in the data directory."
    )

    @Option(help: "Data directory: SQLite database, master key, API key. Created if missing.")
    var dataDir = "./.sfdest"

    @Option(help: "Address to bind. Loopback by default.")
    var host = "127.0.0.1"

    @Option(help: "Port to bind; 0 picks a free port and prints it.")
    var port = 8080

    @Option(help: "Log level.")
    var logLevel = LogLevel(.info)

    func validate() throws {
        guard (0...65535).contains(self.port) else { throw ValidationError("--port must be between 0 and 65535") }
    }

    func run() async throws {
        let logger = self.logLevel.logger(label: "sfdest")
        var settings = SfdestRuntime.Settings(dataDirectory: self.dataDir)
        settings.host = self.host
        settings.port = self.port
        // Tuning variables (Salesforce timeout, delivery lease, requests in flight, linger).
        do {
            try settings.applyTuning()
        } catch {
            throw CommandFailure(error.description)
        }
        let runtime: SfdestRuntime
        do {
            runtime = try SfdestRuntime(settings: settings, logger: logger)
        } catch {
            let reason = error is DataDirectoryError ? "\(error)" : error.localizedDescription
            throw CommandFailure("cannot open the data directory \(self.dataDir): \(reason) (check that it exists or can be created, and is writable)")
        }
        let keys = runtime.keys
        let host = self.host
        try await runtime.run { port in
            var lines = ["sfdest listening on http://\(host):\(port)", "  data directory  \(runtime.settings.dataDirectory)", "  master key      \(keys.masterKeySource)"]
            if keys.apiKeyIsNew, let key = keys.apiKey {
                lines.append("  API key         \(key)   (generated; shown only now: keep it, or set SFDEST_API_KEY)")
            } else if keys.apiKeyMigrated, let key = keys.apiKey {
                lines.append("  API key         \(key)   (now kept only as a hash; shown for the last time: keep it)")
            } else {
                lines.append("  API key         from \(runtime.settings.environment["SFDEST_API_KEY"] != nil ? "SFDEST_API_KEY" : "the data directory")")
            }
            FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        }
    }
}

/// A command that cannot go on, with what to do about it (printed without the usage text).
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
