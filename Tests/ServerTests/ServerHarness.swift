import AsyncHTTPClient
import Delivery
import EmulatorAdminClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Ingest
import Logging
import SalesforceEmulator
import Server
import ServiceLifecycle
import Store

/// A server under test: a real emulator on a port the OS picks, a real SQLite file in a temporary
/// directory, the ingest pipeline running, the app driven in process through its router.
struct ServerHarness: Sendable {
    static let apiKey = "sfdest-test-key-0123456789"

    let emulator: RunningEmulator
    let admin: EmulatorAdminClient
    let directory: URL
    let store: SQLiteStore
    let logs: CapturedLogs
    let api: TestAPI

    /// Runs `body` against a fresh server and tears everything down afterwards.
    static func run(
        maxProfileBodyBytes: Int = 16 << 20,
        contacts: Int = 3,
        testing: TestingSetup = .router,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in },
        _ body: @Sendable (ServerHarness) async throws -> Void
    ) async throws {
        // setup
        let emulator = try await SalesforceEmulator.start(EmulatorConfiguration(port: 0, contacts: contacts, leads: 1))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-server-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let logs = CapturedLogs()
        var logger = Logger(label: "sfdest.test") { _ in CapturingLogHandler(logs: logs) }
        logger.logLevel = .debug
        let store = try SQLiteStore(path: directory.appendingPathComponent("sfdest.sqlite").path, secrets: try SecretBox(base64Key: SecretBox.generateKey()))
        let clients = SalesforceClients(store: store, httpClient: .shared, logger: logger)
        let ingest = IngestPipeline(store: store, logger: logger)
        let delivery = DeliveryService(store: store, clients: clients, logger: logger)
        let services = SfdestServices(store: store, ingest: ingest, delivery: delivery, clients: clients, httpClient: .shared)
        var settings = ServerSettings(host: "127.0.0.1", port: 0, apiKeys: ["another-key", Self.apiKey], maxProfileBodyBytes: maxProfileBodyBytes)
        settings.salesforceTimeout = .seconds(2)
        settings.onListening = onListening
        let app = buildApplication(settings: settings, services: services, logger: logger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [ingest], gracefulShutdownSignals: [], logger: logger))
        defer {
            try? FileManager.default.removeItem(at: directory)
        }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                try await app.test(testing) { client in
                    let harness = ServerHarness(
                        emulator: emulator, admin: EmulatorAdminClient(baseURL: emulator.baseURL), directory: directory,
                        store: store, logs: logs, api: TestAPI(client: client)
                    )
                    try await body(harness)
                }
            } catch {
                await group.triggerGracefulShutdown()
                await emulator.stop()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        await emulator.stop()
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
        let reply = try await self.api.send(.post, "/v1/connections", json: self.connectionBody())
        guard reply.status == .created, let id = reply.object["id"] as? String else {
            throw HarnessFailure("creating the connection answered \(reply.status): \(reply.text)")
        }
        return id
    }

    /// Creates a draft destination on a new connection; returns its id.
    func createDestination(objectType: String = "Contact") async throws -> String {
        let connectionId = try await self.createConnection()
        let reply = try await self.api.send(
            .post, "/v1/destinations", json: ["name": "Sales contacts", "connectionId": connectionId, "objectType": objectType]
        )
        guard reply.status == .created, let id = reply.object["id"] as? String else {
            throw HarnessFailure("creating the destination answered \(reply.status): \(reply.text)")
        }
        return id
    }

    /// An enabled Contact destination: identity, LastName, FirstName, and seg-gold in crm_1_seg__c.
    func createEnabledDestination() async throws -> String {
        let id = try await self.createDestination()
        try await self.admin.addLongTextAreaFields(["crm_1_seg__c"], to: ["Contact"])
        try await self.expect(.ok, .put, "/v1/destinations/\(id)/mappings", json: Self.contactMappings)
        try await self.expect(.ok, .put, "/v1/destinations/\(id)/segments", json: [["segmentId": "seg-gold", "mappingId": "crm_1_seg"]])
        try await self.expect(.ok, .post, "/v1/destinations/\(id)/enable")
        return id
    }

    static let contactMappings: [[String: String]] = [
        ["source": "identityMap:crmID", "target": "identity:SalesforceId"],
        ["source": "xdm:person.name.lastName", "target": "attribute:LastName"],
        ["source": "xdm:person.name.firstName", "target": "attribute:FirstName"],
    ]

    private func expect(_ status: HTTPResponse.Status, _ method: HTTPRequest.Method, _ path: String, json: Any? = nil) async throws {
        let reply = try await self.api.send(method, path, json: json)
        guard reply.status == status else { throw HarnessFailure("\(method) \(path) answered \(reply.status): \(reply.text)") }
    }

    /// A profile fragment in a contact's identity, realized in an audience.
    static func profile(crmId: String, lastName: String = "Lovelace", segment: String = "seg-gold") -> [String: Any] {
        [
            "identityMap": ["crmID": [["id": crmId]]],
            "person": ["name": ["firstName": "Ada", "lastName": lastName]],
            "segmentMembership": ["ups": [segment: ["status": "realized", "lastQualificationTime": "2026-11-20T10:00:00Z"]]],
        ]
    }
}

struct HarnessFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Requests with the test key (unless told otherwise) and their answers, parsed.
struct TestAPI: Sendable {
    let client: any TestClientProtocol

    func send(
        _ method: HTTPRequest.Method, _ path: String, json: Any? = nil, body: String? = nil,
        contentType: String = "application/json", key: String? = ServerHarness.apiKey
    ) async throws -> Reply {
        var headers: HTTPFields = [:]
        if let key { headers[.authorization] = "Bearer \(key)" }
        var buffer: ByteBuffer?
        if let json {
            buffer = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))
        } else if let body {
            buffer = ByteBuffer(string: body)
        }
        if buffer != nil { headers[.contentType] = contentType }
        let response = try await self.client.execute(uri: path, method: method, headers: headers, body: buffer)
        return Reply(status: response.status, headers: response.headers, text: String(buffer: response.body))
    }
}

/// An answer of the API.
struct Reply {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let text: String

    var json: Any? { try? JSONSerialization.jsonObject(with: Data(self.text.utf8), options: [.fragmentsAllowed]) }
    var object: [String: Any] { self.json as? [String: Any] ?? [:] }
    var array: [[String: Any]] { self.json as? [[String: Any]] ?? [] }
    var error: [String: Any] { self.object["error"] as? [String: Any] ?? [:] }
    var errorCode: String? { self.error["code"] as? String }
    var errorMessage: String { self.error["message"] as? String ?? "" }
    /// The `field` of each detail of an error.
    var detailFields: [String] { (self.error["details"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String } }
    var detailMessages: [String] { (self.error["details"] as? [[String: Any]] ?? []).compactMap { $0["message"] as? String } }
}
