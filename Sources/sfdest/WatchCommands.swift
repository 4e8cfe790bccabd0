import ArgumentParser
import Foundation
import SfdestCLI
import SfdestClient

/// How the CLI reaches a running service. The key comes from `SFDEST_API_KEY` or
/// `--api-key-file`; `--api-key` still works but warns (a command-line value shows in `ps`).
struct ServiceOptions: ParsableArguments {
    @Option(help: "Base URL of the running service.")
    var url = "http://127.0.0.1:8080"

    @Option(help: "File whose first line is the API key (default: SFDEST_API_KEY).")
    var apiKeyFile: String?

    @Option(help: ArgumentHelp("Deprecated: visible in `ps`; use SFDEST_API_KEY or --api-key-file.", visibility: .hidden))
    var apiKey: String?

    @Option(help: ArgumentHelp("No longer used: the data directory keeps only the key's hash.", visibility: .hidden))
    var dataDir: String?

    @Flag(help: "Print the API's JSON instead of a table.")
    var json = false

    /// A client of the service with the resolved key; warnings go to stderr.
    func client() throws -> ContractClient {
        let access = try ServiceAccess.resolve(
            environment: ProcessInfo.processInfo.environment, keyFile: self.apiKeyFile, commandLineKey: self.apiKey,
            dataDirectoryGiven: self.dataDir != nil
        )
        for warning in access.warnings + [ServiceAccess.plainHTTPWarning(url: self.url)].compactMap({ $0 }) {
            FileHandle.standardError.write(Data((warning + "\n").utf8))
        }
        let base = self.url.hasSuffix("/") ? String(self.url.dropLast()) : self.url
        return ContractClient(baseURL: base, apiKey: access.key)
    }

    /// The views' client for these options.
    func cli() throws -> MonitoringCLI {
        MonitoringCLI(client: try self.client())
    }

    /// Prints a view, turning the service's refusals into a message and exit code 1.
    func show(_ view: MonitoringCLI.View) async throws {
        print(try await self.cli().render(view, json: self.json))
    }
}

/// `sfdest destinations`: every destination with its status and backlog, to find an id.
struct DestinationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "destinations", abstract: "List the destinations of a running service.")
    @OptionGroup var service: ServiceOptions
    func run() async throws { try await self.service.show(.destinations) }
}

/// `sfdest runs`: a destination's hourly dataflow runs.
struct RunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "runs", abstract: "Show a destination's hourly dataflow runs (newest first).")
    @Option(help: "Destination id (see `sfdest destinations`).") var destination: String
    @OptionGroup var service: ServiceOptions
    func run() async throws { try await self.service.show(.runs(destinationId: self.destination)) }
}

/// `sfdest audiences`: a destination's activation data per audience.
struct AudiencesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audiences", abstract: "Show a destination's audiences: Mapping ID, dates, profiles per status.")
    @Option(help: "Destination id (see `sfdest destinations`).") var destination: String
    @OptionGroup var service: ServiceOptions
    func run() async throws { try await self.service.show(.audiences(destinationId: self.destination)) }
}

/// `sfdest failures`: failed and excluded identities by code; `--retry` replays failed ones.
struct FailuresCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "failures",
        abstract: "Show a destination's failed and excluded identities by code; --retry replays failed records after a fix."
    )
    @Option(help: "Destination id (see `sfdest destinations`).") var destination: String
    @Flag(help: "Queue failed records again (all, or those selected by --code and --record).") var retry = false
    @Option(name: .customLong("code"), help: "With --retry: only failures with this code (repeatable).") var codes: [String] = []
    @Option(name: .customLong("record"), help: "With --retry: only this record Id (repeatable).") var records: [String] = []
    @OptionGroup var service: ServiceOptions

    func validate() throws {
        if !self.retry && !(self.codes.isEmpty && self.records.isEmpty) {
            throw ValidationError("--code and --record select what --retry replays: add --retry")
        }
    }

    func run() async throws {
        let cli = try self.service.cli()
        if self.retry {
            let count = try await cli.retryFailures(destinationId: self.destination, codes: self.codes, recordIds: self.records)
            print("Re-queued \(count) failed record\(count == 1 ? "" : "s").")
        }
        print(try await cli.render(.failures(destinationId: self.destination), json: self.service.json))
    }
}
