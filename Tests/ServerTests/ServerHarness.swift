import EmulatorAdminClient
import Foundation
import SalesforceEmulator
import SfdestClient
import SfdestRuntime
import SfdestTestSupport
import Store

/// A server under test: the whole service as `sfdest serve` wires it (store on a real SQLite file,
/// ingest, delivery, alerts, the HTTP API on a port the OS picks) and a real emulator, through
/// `ServiceHarness`; requests go over loopback through the contract's client.
struct ServerHarness: Sendable {
    static let apiKey = "sfdest-test-key-0123456789abcdefghij"

    let service: RunningService

    var emulator: RunningEmulator { self.service.emulator }
    var admin: EmulatorAdminClient { self.service.admin }
    var logs: CapturedLogs { self.service.logs }
    var store: any SfdestStore { self.service.runtime.services.store }
    var directory: URL { URL(fileURLWithPath: self.service.dataDirectory) }
    var api: ContractClient { self.service.api }

    /// Runs `body` against a fresh service and tears everything down afterwards.
    static func run(
        maxProfileBodyBytes: Int = 16 << 20,
        contacts: Int = 3,
        configure: @escaping @Sendable (inout SfdestRuntime.Settings) -> Void = { _ in },
        _ body: @Sendable (ServerHarness) async throws -> Void
    ) async throws {
        try await ServiceHarness.with(contacts: contacts, leads: 1, logLevel: .debug, configure: { settings in
            settings.environment = ["SFDEST_API_KEY": Self.apiKey]
            settings.maxProfileBodyBytes = maxProfileBodyBytes
            settings.connectTimeout = .seconds(6)
            configure(&settings)
        }) { service in
            try await body(ServerHarness(service: service))
        }
    }

    /// The body of a connection to the emulator with its default credentials.
    func connectionBody(name: String = "Emulator org", password: String = "emulator-pw") -> [String: Any] {
        [
            "name": name, "loginUrl": self.emulator.baseURL, "apiVersion": "v66.0",
            "auth": [
                "type": "password", "username": "integration@emulator.sfdest", "password": password, "securityToken": "TOKEN123",
                "clientId": "sfdest-emulator-consumer-key", "clientSecret": "sfdest-emulator-consumer-secret",
            ] as [String: Any],
        ]
    }

    /// Creates a connection to the emulator; returns its id.
    func createConnection() async throws -> String {
        let reply = try await self.api.expect(201, .POST, "/v1/connections", json: self.connectionBody())
        guard let id = reply.object["id"] as? String else { throw HarnessFailure("the connection has no id: \(reply.text)") }
        return id
    }

    /// Creates a draft destination on a new connection; returns its id.
    func createDestination(objectType: String = "Contact") async throws -> String {
        try await self.api.createDestination(connectionId: try await self.createConnection(), objectType: objectType, name: "Sales contacts")
    }

    /// An enabled Contact destination: identity, LastName, FirstName, and seg-gold in crm_1_seg__c.
    func createEnabledDestination() async throws -> String {
        let id = try await self.createDestination()
        try await self.admin.addLongTextAreaFields(["crm_1_seg__c"], to: ["Contact"])
        try await self.api.configureDestination(id, mappings: Self.contactMappings, segments: [["segmentId": "seg-gold", "mappingId": "crm_1_seg"]])
        return id
    }

    static let contactMappings: [[String: String]] = ContractClient.mappings(["person.name.firstName": "FirstName"])

    /// A profile fragment in a contact's identity, realized in an audience.
    static func profile(crmId: String, lastName: String = "Lovelace", segment: String = "seg-gold") -> [String: Any] {
        [
            "identityMap": ["crmID": [["id": crmId]]],
            "person": ["name": ["firstName": "Ada", "lastName": lastName]],
            "segmentMembership": ["ups": [segment: ["status": "realized", "lastQualificationTime": "2026-11-20T10:00:00Z"]]],
        ]
    }
}
