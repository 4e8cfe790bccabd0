import ArgumentParser
import Foundation
import Logging
import EmulatorAdminClient
import SalesforceEmulator
import UnixSignals

/// `sfdest emulator`: a local Salesforce org on loopback, with the wire formats of a real one.
struct EmulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emulator",
        abstract: "Run a local Salesforce org (OAuth, describe, sObject Collections, limits) for tests and demos."
    )

    @Option(help: "Address to bind. Loopback by default: the admin API has no authentication.")
    var host = "127.0.0.1"

    @Option(help: "Port to bind; 0 picks a free port and prints it.")
    var port = 8090

    @Option(help: "Contact records to seed.")
    var contacts = 0

    @Option(help: "Lead records to seed.")
    var leads = 0

    @Option(name: .customLong("client-id"), help: "The connected app's Consumer Key the org accepts.")
    var clientId = EmulatorConfiguration().clientId

    @Option(name: .customLong("client-secret"), help: "The connected app's Consumer Secret the org accepts.")
    var clientSecret = EmulatorConfiguration().clientSecret

    @Option(help: "The username the org accepts.")
    var username = EmulatorConfiguration().username

    @Option(help: "The password the org accepts, with the security token appended (as Salesforce compares it).")
    var password = EmulatorConfiguration().password

    @Option(
        name: .customLong("jwt-certificate"),
        help: "A PEM X.509 certificate (RSA) uploaded to the connected app: enables the JWT bearer flow for assertions signed with its key."
    )
    var jwtCertificate: String?

    @Option(
        name: .customLong("jwt-audience"),
        help: "An audience JWT bearer assertions may name besides the emulator's own URL (repeatable), e.g. https://login.salesforce.com."
    )
    var jwtAudiences: [String] = []

    @Option(
        name: .customLong("custom-field"),
        help: "A Long Text Area custom field to create on Contact and Lead (repeatable). Default: crm_1_seg__c and crm_2_seg__c."
    )
    var customFields: [String] = []

    @Flag(name: .customLong("no-custom-fields"), help: "Create no custom fields.")
    var noCustomFields = false

    @Option(help: "Log level.")
    var logLevel = LogLevel(.notice)

    func validate() throws {
        guard (0...65535).contains(self.port) else {
            throw ValidationError("--port must be between 0 and 65535 (0 picks a free port)")
        }
        guard self.contacts >= 0, self.leads >= 0 else {
            throw ValidationError("--contacts and --leads must be 0 or more")
        }
    }

    func run() async throws {
        let logger = self.logLevel.logger(label: "sfdest.emulator")
        var certificate: String?
        if let path = self.jwtCertificate {
            do {
                certificate = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw ValidationError("--jwt-certificate \(path) cannot be read: \(error.localizedDescription)")
            }
        }
        let configuration = EmulatorConfiguration(
            host: self.host,
            port: self.port,
            clientId: self.clientId,
            clientSecret: self.clientSecret,
            username: self.username,
            password: self.password,
            contacts: self.contacts,
            leads: self.leads,
            jwtCertificatePem: certificate
        )
        let fields = self.noCustomFields ? [] : (self.customFields.isEmpty ? ["crm_1_seg__c", "crm_2_seg__c"] : self.customFields)
        // Trapped before the server starts, so a signal that comes early still stops it gracefully.
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
        try await SalesforceEmulator.with(configuration, logger: logger) { emulator in
            let admin = EmulatorAdminClient(baseURL: emulator.baseURL)
            try await admin.addLongTextAreaFields(fields, to: ["Contact", "Lead"])
            if !self.jwtAudiences.isEmpty { try await admin.setConnectedApp(audiences: self.jwtAudiences) }
            // Written unbuffered: whoever started the emulator waits for this to know where it listens.
            let banner = EmulatorBanner(configuration: configuration, emulator: emulator, customFields: fields, jwtAudiences: self.jwtAudiences).text
            FileHandle.standardOutput.write(Data((banner + "\n").utf8))
            for await _ in signals { break }
        }
    }
}

/// What `sfdest emulator` prints once it listens: enough to point a client at it.
struct EmulatorBanner {
    let configuration: EmulatorConfiguration
    let emulator: RunningEmulator
    let customFields: [String]
    /// Audiences JWT bearer assertions may name besides the emulator's URL.
    var jwtAudiences: [String] = []

    var text: String {
        var lines = [
            "Salesforce emulator listening on \(self.emulator.baseURL)",
            "",
            "  Login URL       \(self.emulator.baseURL)   (token endpoint: \(self.emulator.baseURL)/services/oauth2/token)",
            "  Consumer Key    \(self.configuration.clientId)",
            "  Consumer Secret \(self.configuration.clientSecret)",
            "  Username        \(self.configuration.username)",
            "  Password        \(self.configuration.password)   (password with the security token appended)",
            "  Grant types     password, client_credentials"
                + (self.configuration.jwtCertificatePem == nil ? "" : ", JWT bearer (aud \(([self.emulator.baseURL] + self.jwtAudiences).joined(separator: " or ")))"),
            "  API versions    v31.0 to v66.0",
            "  Custom fields   " + (self.customFields.isEmpty ? "none" : self.customFields.joined(separator: ", ") + " (Long Text Area 32768, on Contact and Lead)"),
            "  Records         \(self.emulator.seededContactIds.count) Contacts, \(self.emulator.seededLeadIds.count) Leads",
        ]
        if let contact = self.emulator.seededContactIds.first {
            lines.append("  e.g. Contact    \(contact)")
        }
        if let lead = self.emulator.seededLeadIds.first {
            lines.append("  e.g. Lead       \(lead)")
        }
        lines += [
            "",
            "  Admin API (no auth): \(self.emulator.baseURL)/emulator/{records,fields,stats,faults}",
            "Press Ctrl-C to stop.",
        ]
        return lines.joined(separator: "\n")
    }
}
