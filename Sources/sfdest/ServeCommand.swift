import ArgumentParser
import Foundation
import Logging
import PostgresStore
import SfdestRuntime

/// `sfdest serve`: the service.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the service: the HTTP API, ingest and delivery, on SQLite in the data directory or on a shared PostgreSQL database.",
        discussion: """
            With --postgres (or SFDEST_POSTGRES_URL) any number of processes share one database: \
            give each the same SFDEST_MASTER_KEY and SFDEST_API_KEY, and a --role: all (the default), \
            api (the HTTP API and ingest) or worker (delivery and alerts; its port serves /health and /metrics).
            """
    )

    @Option(help: ArgumentHelp("Keep everything in this PostgreSQL database (postgres://user:password@host:5432/db) instead of SQLite; also SFDEST_POSTGRES_URL.", valueName: "url"))
    var postgres: String?

    @Option(help: "What this process runs with --postgres: all, api (HTTP API and ingest) or worker (delivery and alerts).")
    var role: String = "all"

    @Option(help: "Data directory: SQLite database, master key, API key. Created if missing.")
    var dataDir = "./.sfdest"

    @Option(help: "Address to bind. Loopback by default.")
    var host = "127.0.0.1"

    @Option(help: "Port to bind; 0 picks a free port and prints it.")
    var port = 8080

    @Option(help: "Log level.")
    var logLevel = LogLevel(.info)

    @Option(help: ArgumentHelp("Serve HTTPS with this certificate chain (PEM file, server certificate first).", valueName: "file"))
    var tlsCert: String?

    @Option(help: ArgumentHelp("The private key of --tls-cert (PEM file, unencrypted).", valueName: "file"))
    var tlsKey: String?

    @Flag(help: "Allow plain HTTP on a non-loopback --host because a TLS proxy in front terminates TLS.")
    var insecureHTTP = false

    @Option(help: ArgumentHelp("Seconds a connection may stay silent (half-sent request heads, stalled bodies, idle keep-alive).", valueName: "seconds"))
    var idleTimeout: Double = 15

    @Option(help: ArgumentHelp("Seconds a whole request body may take to arrive.", valueName: "seconds"))
    var bodyTimeout: Double = 120

    @Option(help: "Connections served at once; more are answered 503 and closed.")
    var maxConnections = 512

    @Option(help: "Requests handled at once; more are answered 503 with Retry-After: 1.")
    var maxRequestsInFlight = 256

    func validate() throws {
        guard SfdestRuntime.Role(rawValue: self.role) != nil else {
            throw ValidationError("--role must be all, api or worker")
        }
        guard (0...65535).contains(self.port) else { throw ValidationError("--port must be between 0 and 65535") }
        if (self.tlsCert == nil) != (self.tlsKey == nil) {
            throw ValidationError(self.tlsCert == nil
                ? "--tls-key needs --tls-cert: give both, the certificate and its private key (PEM files)"
                : "--tls-cert needs --tls-key: give both, the certificate and its private key (PEM files)")
        }
        guard self.idleTimeout > 0, self.bodyTimeout > 0 else { throw ValidationError("--idle-timeout and --body-timeout must be more than 0 seconds") }
        guard self.maxConnections > 0, self.maxRequestsInFlight > 0 else {
            throw ValidationError("--max-connections and --max-requests-in-flight must be at least 1")
        }
    }

    func run() async throws {
        let logger = self.logLevel.logger(label: "sfdest")
        var settings = SfdestRuntime.Settings(dataDirectory: self.dataDir)
        settings.host = self.host
        settings.port = self.port
        settings.tlsCertificateFile = self.tlsCert
        settings.tlsKeyFile = self.tlsKey
        settings.insecureHTTP = self.insecureHTTP
        settings.serverLimits.idleTimeout = .milliseconds(Int64(self.idleTimeout * 1000))
        settings.serverLimits.bodyTimeout = .milliseconds(Int64(self.bodyTimeout * 1000))
        settings.serverLimits.maxConnections = self.maxConnections
        settings.serverLimits.maxRequestsInFlight = self.maxRequestsInFlight
        // Tuning variables (Salesforce timeout, delivery lease, requests in flight, linger).
        do {
            try settings.applyTuning()
        } catch {
            throw CommandFailure(error.description)
        }
        settings.role = SfdestRuntime.Role(rawValue: self.role) ?? .all
        let postgres = self.postgres ?? settings.environment["SFDEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
        if let postgres {
            try await self.serve(postgres: postgres, settings: settings, logger: logger)
            return
        }
        guard settings.role == .all else {
            throw CommandFailure("--role \(self.role) needs --postgres: processes of different roles share one PostgreSQL database (SQLite serves one process, which runs everything)")
        }
        let runtime: SfdestRuntime
        do {
            runtime = try SfdestRuntime(settings: settings, logger: logger)
        } catch let refusal as ListenerRefusal {
            throw CommandFailure(refusal.description)
        } catch {
            let reason = error is DataDirectoryError ? "\(error)" : error.localizedDescription
            throw CommandFailure("cannot open the data directory \(self.dataDir): \(reason) (check that it exists or can be created, and is writable)")
        }
        try await self.run(runtime, store: "data directory  \(runtime.settings.dataDirectory)")
    }

    /// On PostgreSQL: the database, and the keys every process of the deployment shares.
    func serve(postgres: String, settings: SfdestRuntime.Settings, logger: Logger) async throws {
        let url: PostgresURL
        do {
            url = try PostgresURL(postgres)
        } catch {
            throw CommandFailure(error.description)
        }
        do {
            try await SfdestRuntime.withPostgres(url: url, settings: settings, logger: logger) { runtime in
                try await self.run(runtime, store: "PostgreSQL      \(url) (role \(settings.role.rawValue))")
            }
        } catch let refusal as ListenerRefusal {
            throw CommandFailure(refusal.description)
        } catch let error as DataDirectoryError {
            throw CommandFailure("\(error)")
        } catch let error as PostgresStoreError {
            throw CommandFailure(error.description)
        }
    }

    /// Runs until SIGTERM or SIGINT, printing where it listens once it does.
    func run(_ runtime: SfdestRuntime, store: String) async throws {
        let keys = runtime.keys
        let host = self.host
        let scheme = self.tlsCert == nil ? "http" : "https"
        try await runtime.run { port in
            var lines = ["sfdest listening on \(scheme)://\(host):\(port)", "  \(store)", "  master key      \(keys.masterKeySource)"]
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
