import ArgumentParser

/// The `sfdest` executable: a thin shell over the library targets.
@main
struct SfdestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sfdest",
        abstract: "A self-hosted Salesforce CRM destination: keeps Contact and Lead records current with profiles and audience statuses.",
        subcommands: [ServeCommand.self, DemoCommand.self, EmulatorCommand.self, BenchCommand.self, KeyCommand.self, KeysCommand.self,
                      RotateMasterKeyCommand.self,
                      DestinationsCommand.self, RunsCommand.self, FailuresCommand.self, AudiencesCommand.self]
    )
}
