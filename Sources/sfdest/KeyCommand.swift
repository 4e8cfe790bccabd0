import ArgumentParser

/// `sfdest api-key`: kept so that scripts calling it learn why it stopped printing the key. The
/// data directory keeps only the bootstrap key's hash now.
struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api-key",
        abstract: "No longer prints the key: the data directory keeps only its hash. See `sfdest keys create`."
    )

    @Option(help: "Data directory of the service (ignored).")
    var dataDir = "./.sfdest"

    func run() throws {
        throw CommandFailure(
            "the data directory keeps only a hash of the bootstrap API key, so it cannot be printed: the key was shown once when "
                + "`sfdest serve` first generated it. Set SFDEST_API_KEY (32 characters or more) to choose the bootstrap key, "
                + "or create keys with `sfdest keys create --name NAME --permission PERMISSION` using a key you have."
        )
    }
}
