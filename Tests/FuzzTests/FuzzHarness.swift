import AsyncHTTPClient
import EmulatorAdminClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SalesforceEmulator
import SfdestBasics
import SfdestClient
import SfdestRuntime
import SfdestTestSupport
import Store
import Synchronization
import Testing

/// The real service (through `SfdestRuntime`, as `sfdest serve` runs it) and the real emulator,
/// each on a port the OS picked, with a fresh data directory.
struct FuzzService: Sendable {
    let emulator: RunningEmulator
    let admin: EmulatorAdminClient
    /// Sends exactly the bytes and headers it is given (no Content-Type unless told), so
    /// malformed bodies reach the server as they are.
    let client: ContractClient
    let runtime: SfdestRuntime
    let databasePath: String
    let logs: CapturedLogs

    var store: any SfdestStore { self.runtime.services.store }

    static func with(
        contacts: Int = 3,
        storeLimits: SQLiteStore.Limits = SQLiteStore.Limits(),
        _ body: @Sendable (FuzzService) async throws -> Void
    ) async throws {
        try await ServiceHarness.with(contacts: contacts, leads: 1, logLevel: .debug, configure: { $0.storeLimits = storeLimits }) { service in
            try await body(FuzzService(
                emulator: service.emulator, admin: service.admin,
                client: service.api,
                runtime: service.runtime, databasePath: DataDirectory(path: service.dataDirectory).databasePath, logs: service.logs
            ))
        }
    }

    /// Answers `status` or fails quoting the answer.
    @discardableResult
    func expect(_ status: Int, _ method: HTTPMethod, _ path: String, json: Any? = nil) async throws -> ContractClient.Answer {
        let answer = json == nil ? try await self.client.send(method, path) : try await self.client.send(method, path, json: json!)
        guard answer.status == status else {
            throw HarnessFailure("\(method.rawValue) \(path) answered \(answer.status), expected \(status): \(answer.text)")
        }
        return answer
    }

    var api: ContractClient { self.client }

    /// A connection to the emulator and a draft Contact destination; returns its id.
    func createDestination() async throws -> String {
        try await self.api.createDestination(connectionId: try await self.api.connectToEmulator(loginURL: self.emulator.baseURL))
    }

    /// An enabled Contact destination: identity, LastName, FirstName, and seg-gold in crm_1_seg__c.
    func createEnabledDestination() async throws -> String {
        try await self.admin.addLongTextAreaFields(["crm_1_seg__c"], to: ["Contact"])
        let id = try await self.createDestination()
        try await self.api.configureDestination(
            id, mappings: ContractClient.mappings(["person.name.firstName": "FirstName"]), segments: [["segmentId": "seg-gold", "mappingId": "crm_1_seg"]]
        )
        return id
    }

    /// Waits until the destination has nothing queued, in flight or retrying, and no backfill runs.
    func waitUntilDelivered(_ destinationId: String, timeout: Duration = .seconds(120)) async throws {
        try await self.api.waitUntilDelivered(destinationId, timeout: timeout)
    }
}


/// JSON text of a value made of dictionaries, arrays, strings, numbers, booleans and NSNull.
func jsonText(_ value: Any) -> Data {
    (try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed])) ?? Data("null".utf8)
}
