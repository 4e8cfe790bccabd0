import EmulatorAdminClient
import Foundation
import Logging
import SalesforceEmulator
import SfdestClient
import SfdestRuntime

/// The real service (store, ingest, delivery, alerts, HTTP API) and the real emulator, each on a
/// port the OS picked, with a fresh data directory: what the end-to-end, alert and fuzz tests run.
public struct RunningService: Sendable {
    public let emulator: RunningEmulator
    public let admin: EmulatorAdminClient
    public let runtime: SfdestRuntime
    public let port: Int
    public let dataDirectory: String
    public let logs: CapturedLogs
    /// The bootstrap (admin) key: known, since the data directory is fresh or `SFDEST_API_KEY` set.
    public let apiKey: String

    /// A client of the service's HTTP API with its API key.
    public var api: ContractClient { ContractClient(baseURL: self.baseURL, apiKey: self.apiKey) }
    public var baseURL: String { "http://127.0.0.1:\(self.port)" }
}

public enum ServiceHarness {
    /// Settings for tests: free port, no environment, short waits so retries happen in milliseconds.
    public static func testSettings(dataDirectory: String) -> SfdestRuntime.Settings {
        var settings = SfdestRuntime.Settings(dataDirectory: dataDirectory)
        settings.port = 0
        settings.environment = [:]
        settings.delivery.linger = .milliseconds(5)
        settings.delivery.pollInterval = .milliseconds(50)
        settings.delivery.backoffBase = 0.05
        settings.delivery.backoffCap = 0.5
        return settings
    }

    /// Runs `body` with everything started; stops it all and removes the data afterwards.
    public static func with(
        contacts: Int = 20, leads: Int = 5, logLevel: Logger.Level = .trace,
        configure: (inout SfdestRuntime.Settings) -> Void = { _ in },
        _ body: @Sendable (RunningService) async throws -> Void
    ) async throws {
        let logs = CapturedLogs()
        let logger = logs.logger(label: "sfdest.test", level: logLevel)
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-test-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        var settings = Self.testSettings(dataDirectory: dataDirectory)
        configure(&settings)
        let runtime = try SfdestRuntime(settings: settings, logger: logger)
        let apiKey = try runtime.keys.requireAPIKey()
        try await SalesforceEmulator.with(EmulatorConfiguration(port: 0, contacts: contacts, leads: leads)) { emulator in
            let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    defer { portContinuation.finish() }
                    try await runtime.run(gracefulShutdownSignals: []) { port in portContinuation.yield(port) }
                }
                var iterator = ports.makeAsyncIterator()
                guard let port = await iterator.next() else {
                    try await group.waitForAll()
                    throw HarnessFailure("the service did not start")
                }
                let service = RunningService(
                    emulator: emulator, admin: EmulatorAdminClient(baseURL: emulator.baseURL), runtime: runtime,
                    port: port, dataDirectory: dataDirectory, logs: logs, apiKey: apiKey
                )
                do {
                    try await body(service)
                } catch {
                    await runtime.shutdown()
                    throw error
                }
                await runtime.shutdown()
                try await group.waitForAll()
            }
        }
    }
}

/// A test harness could not set up what the test needs.
public struct HarnessFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
