import AsyncHTTPClient
import EmulatorAdminClient
import Foundation
import Logging
import NIOCore
import SalesforceEmulator
import SfdestClient
import SfdestRuntime
import SfdestTestSupport
import Testing

/// Helpers of the bulk lane's tests: a destination with a `bulkThreshold`, the emulator's own view
/// of its ingest jobs, and a service that can be stopped and started again on the same data.
extension EndToEnd {
    /// A Contact destination mapping LastName, FirstName, Email and one audience, with the given
    /// threshold (`NSNull()` for null, nil to leave it out); not enabled.
    func bulkDestination(threshold: Any?) async throws -> String {
        try await BulkTesting.destination(api: self.api, admin: self.admin, loginURL: self.emulator.baseURL, threshold: threshold)
    }

    /// Calls the emulator made for an endpoint (stats key, e.g. "POST /jobs/ingest").
    func calls(_ endpoint: String) async throws -> Int {
        try await self.admin.stats().callsByEndpoint[endpoint] ?? 0
    }

    /// The destination's `bulkJobs`, newest first.
    func bulkJobs(_ destinationId: String) async throws -> [[String: Any]] {
        try await BulkTesting.bulkJobs(self.api, destinationId)
    }
}

enum BulkTesting {
    static var segments: [[String: Any]] { [["segmentId": "seg-gold", "mappingId": "crm_1_seg"]] }

    static func destination(api: ContractClient, admin: EmulatorAdminClient, loginURL: String, threshold: Any?) async throws -> String {
        try await admin.addLongTextAreaFields(["crm_1_seg__c"], to: ["Contact"])
        let connection = try await api.connectToEmulator(loginURL: loginURL)
        var body: [String: Any] = ["name": "Backfilled contacts", "connectionId": connection, "objectType": "Contact"]
        if let threshold { body["bulkThreshold"] = threshold }
        let created = try await api.expect(201, .POST, "/v1/destinations", json: body).object
        let id = try #require(created["id"] as? String)
        let mappings = ContractClient.mappings(["person.name.firstName": "FirstName", "personalEmail.address": "Email"])
        try await api.configureDestination(id, mappings: mappings, segments: Self.segments, enable: false)
        return id
    }

    static func bulkJobs(_ api: ContractClient, _ destinationId: String) async throws -> [[String: Any]] {
        let view = try await api.expect(200, .GET, "/v1/destinations/\(destinationId)").object
        return view["bulkJobs"] as? [[String: Any]] ?? []
    }

    /// Waits until the destination shows a job in one of `states`; returns it.
    static func waitForJob(_ api: ContractClient, _ destinationId: String, in states: Set<String>, timeout: Duration = .seconds(30)) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let job = try await Self.bulkJobs(api, destinationId).first(where: { states.contains($0["state"] as? String ?? "") }) {
                return job
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw HarnessFailure("no bulk job of destination \(destinationId) reached \(states.sorted()) within \(timeout)")
    }

    /// The emulator's own answer for an ingest job (`GET /jobs/ingest/{id}` with a session of its
    /// default user), read over its REST API.
    static func emulatorJob(baseURL: String, id: String) async throws -> [String: Any] {
        let form = [
            "grant_type=password", "client_id=sfdest-emulator-consumer-key", "client_secret=sfdest-emulator-consumer-secret",
            "username=integration%40emulator.sfdest", "password=emulator-pwTOKEN123",
        ].joined(separator: "&")
        var login = HTTPClientRequest(url: baseURL + "/services/oauth2/token")
        login.method = .POST
        login.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        login.body = .bytes(ByteBuffer(string: form))
        let token = try await Self.json(HTTPClient.shared.execute(login, timeout: .seconds(10)))
        let accessToken = try #require(token["access_token"] as? String)
        let instance = token["instance_url"] as? String ?? baseURL
        var get = HTTPClientRequest(url: instance + "/services/data/v66.0/jobs/ingest/\(id)")
        get.headers.add(name: "Authorization", value: "Bearer \(accessToken)")
        return try await Self.json(HTTPClient.shared.execute(get, timeout: .seconds(10)))
    }

    private static func json(_ response: HTTPClientResponse) async throws -> [String: Any] {
        let body = try await response.body.collect(upTo: 1 << 20)
        return try JSONSerialization.jsonObject(with: Data(String(buffer: body).utf8)) as? [String: Any] ?? [:]
    }

    /// Runs the service on `dataDirectory` (kept afterwards) against a running emulator, as
    /// `ServiceHarness` does, with a fixed API key so a second run on the same data can log in.
    @discardableResult
    static func runService<T: Sendable>(
        dataDirectory: String, emulator: RunningEmulator, logs: CapturedLogs,
        configure: (inout SfdestRuntime.Settings) -> Void = { _ in },
        _ body: @Sendable (ContractClient) async throws -> T
    ) async throws -> T {
        let apiKey = "sfdest_test_bulk_restart_key_0123456789abcdef"
        var settings = ServiceHarness.testSettings(dataDirectory: dataDirectory)
        settings.environment = ["SFDEST_API_KEY": apiKey]
        configure(&settings)
        let runtime = try SfdestRuntime(settings: settings, logger: logs.logger(label: "sfdest.test", level: .debug))
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { portContinuation.finish() }
                try await runtime.run(gracefulShutdownSignals: []) { port in portContinuation.yield(port) }
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else {
                try await group.waitForAll()
                throw HarnessFailure("the service did not start")
            }
            let result: T
            do {
                result = try await body(ContractClient(baseURL: "http://127.0.0.1:\(port)", apiKey: apiKey))
            } catch {
                await runtime.shutdown()
                throw error
            }
            await runtime.shutdown()
            try await group.waitForAll()
            return result
        }
    }
}
