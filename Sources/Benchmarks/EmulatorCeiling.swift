import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SalesforceEmulator
import SfdestBasics
import Synchronization

/// The emulator's ceiling: records per second it updates through sObject Collections when a client
/// does nothing but send pre-built 200-record bodies. Every other figure reads as a fraction of it.
public struct EmulatorCeiling: Sendable {
    public struct Options: Sendable {
        /// Records to update in all (rounded up to whole requests of 200).
        public var records: Int = 200_000
        /// Requests in flight at once.
        public var concurrency: Int = 4
        /// Distinct records in the org; requests cycle over them.
        public var orgRecords: Int = 20_000
        public init() {}
    }

    public struct Result: Sendable, Codable {
        public let records: Int
        public let requests: Int
        public let concurrency: Int
        public let seconds: Double
        public let recordsPerSecond: Double
        public let requestsPerSecond: Double

        public init(records: Int, requests: Int, concurrency: Int, seconds: Double) {
            self.records = records
            self.requests = requests
            self.concurrency = concurrency
            self.seconds = seconds
            self.recordsPerSecond = Double(records) / seconds
            self.requestsPerSecond = Double(requests) / seconds
        }
    }

    /// The benchmark saw something other than a clean 200 with every record updated.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let options: Options

    public init(options: Options) {
        self.options = options
    }

    /// Starts an emulator on a free loopback port, seeds it, and measures.
    /// `progress` is called with the records done so far.
    public func run(logger: Logger, progress: @escaping @Sendable (Int, Int) -> Void) async throws -> Result {
        let configuration = EmulatorConfiguration(port: 0)
        return try await SalesforceEmulator.with(configuration, logger: logger) { emulator in
            try await self.measure(emulator: emulator, configuration: configuration, progress: progress)
        }
    }

    private func measure(
        emulator: RunningEmulator,
        configuration: EmulatorConfiguration,
        progress: @escaping @Sendable (Int, Int) -> Void
    ) async throws -> Result {
        let client = HTTPClient.shared
        let ids = try await self.seed(emulator: emulator, client: client)
        let token = try await self.token(emulator: emulator, configuration: configuration, client: client)
        let bodies = Self.bodies(ids: ids)
        let requests = (self.options.records + 199) / 200
        let url = emulator.baseURL + "/services/data/v66.0/composite/sobjects"
        let counter = Counter()
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<max(1, self.options.concurrency) {
                group.addTask {
                    while let index = counter.next(below: requests) {
                        var request = HTTPClientRequest(url: url)
                        request.method = .PATCH
                        request.headers.add(name: "Authorization", value: "Bearer \(token)")
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.body = .bytes(bodies[(index + worker) % bodies.count])
                        let response = try await client.execute(request, timeout: .seconds(60))
                        let body = try await response.body.collect(upTo: 8 << 20)
                        guard response.status == .ok else {
                            throw Failure(description: "request \(index) answered \(response.status.code): \(String(buffer: body))")
                        }
                        let text = String(buffer: body)
                        guard !text.contains("\"success\":false") else {
                            throw Failure(description: "request \(index) had a failed record: \(text.prefix(300))")
                        }
                        progress(counter.finished() * 200, requests * 200)
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - start
        let seconds = elapsed.inSeconds
        return Result(records: requests * 200, requests: requests, concurrency: self.options.concurrency, seconds: seconds)
    }

    private func seed(emulator: RunningEmulator, client: HTTPClient) async throws -> [String] {
        var ids: [String] = []
        let chunk = 10_000
        while ids.count < self.options.orgRecords {
            let count = min(chunk, self.options.orgRecords - ids.count)
            let object = try await Self.postJSON(client: client, url: emulator.baseURL + "/emulator/records", json: ["type": "Contact", "count": count])
            guard let created = object["ids"] as? [String], created.count == count else {
                throw Failure(description: "seeding answered \(object)")
            }
            ids += created
        }
        return ids
    }

    private func token(emulator: RunningEmulator, configuration: EmulatorConfiguration, client: HTTPClient) async throws -> String {
        var request = HTTPClientRequest(url: emulator.baseURL + "/services/oauth2/token")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        var form = URLComponents()
        form.queryItems = [
            URLQueryItem(name: "grant_type", value: "client_credentials"),
            URLQueryItem(name: "client_id", value: configuration.clientId),
            URLQueryItem(name: "client_secret", value: configuration.clientSecret),
        ]
        request.body = .bytes(ByteBuffer(string: form.percentEncodedQuery ?? ""))
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok,
              let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
              let token = object["access_token"] as? String
        else {
            throw Failure(description: "token request answered \(response.status.code): \(String(buffer: body))")
        }
        return token
    }

    /// One pre-built body per 200 distinct records, each changing FirstName and a Title.
    static func bodies(ids: [String]) -> [ByteBuffer] {
        stride(from: 0, to: ids.count - ids.count % 200, by: 200).map { start in
            var json = "{\"allOrNone\":false,\"records\":["
            for (offset, id) in ids[start..<start + 200].enumerated() {
                if offset > 0 { json += "," }
                json += "{\"attributes\":{\"type\":\"Contact\"},\"id\":\"\(id)\",\"FirstName\":\"Bench\(offset)\",\"Title\":\"Ceiling run \(start)\"}"
            }
            json += "]}"
            return ByteBuffer(string: json)
        }
    }

    static func postJSON(client: HTTPClient, url: String, json: [String: Any]) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
        let response = try await client.execute(request, timeout: .seconds(120))
        let body = try await response.body.collect(upTo: 64 << 20)
        guard (200..<300).contains(response.status.code) else {
            throw Failure(description: "\(url) answered \(response.status.code): \(String(buffer: body))")
        }
        return try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] ?? [:]
    }
}

/// Hands out request numbers to the workers and counts finished ones.
final class Counter: Sendable {
    private let state = Mutex<(next: Int, done: Int)>((0, 0))

    func next(below limit: Int) -> Int? {
        self.state.withLock { state in
            guard state.next < limit else { return nil }
            defer { state.next += 1 }
            return state.next
        }
    }

    func finished() -> Int {
        self.state.withLock { state in
            state.done += 1
            return state.done
        }
    }
}
