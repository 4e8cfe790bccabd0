import ArgumentParser
import SfdestCLI

/// `sfdest keys`: API keys with permissions, managed through a running service (needs a key with
/// manage-keys, such as the bootstrap key).
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list and revoke API keys of a running service (needs a key with manage-keys).",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a key: it is printed once and stored only as a hash. A key can grant only permissions its creator has."
        )
        @Option(help: "A name to recognise the key by.") var name: String
        @Option(
            name: .customLong("permission"),
            help: "A permission (repeatable): view-destinations, manage-destinations, activate-destinations, view-profiles, view-segments, ingest-profiles, view-metrics, manage-keys, admin."
        )
        var permissions: [String] = []
        @Option(help: "When the key stops working, ISO 8601 (such as 2027-01-31T00:00:00Z); default never.") var expiresAt: String?
        @OptionGroup var service: ServiceOptions

        func validate() throws {
            if self.permissions.isEmpty { throw ValidationError("give at least one --permission") }
        }

        func run() async throws {
            print(try await KeysCLI(client: self.service.client()).create(name: self.name, permissions: self.permissions, expiresAt: self.expiresAt))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the keys (never their material).")
        @OptionGroup var service: ServiceOptions
        func run() async throws { print(try await KeysCLI(client: self.service.client()).list(json: self.service.json)) }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key at once: the next request with it is refused.")
        @Argument(help: "The key's id (key_...; see `sfdest keys list`).") var id: String
        @OptionGroup var service: ServiceOptions
        func run() async throws { print(try await KeysCLI(client: self.service.client()).revoke(id: self.id)) }
    }
}
