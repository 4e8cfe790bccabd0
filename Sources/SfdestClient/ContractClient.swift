import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A small client of sfdest's own HTTP API, for the demo, the CLI views and the end-to-end tests:
/// every call goes through the contract over real HTTP.
public struct ContractClient: Sendable {
    /// An answer: status, headers and the body as it came; read as JSON on demand.
    public struct Answer: Sendable {
        public let status: Int
        public let headers: HTTPHeaders
        public let bytes: Data

        public init(status: Int, headers: HTTPHeaders, bytes: Data) {
            self.status = status
            self.headers = headers
            self.bytes = bytes
        }

        /// The body parsed as JSON; nil when empty or not JSON.
        public var json: Any? {
            self.bytes.isEmpty ? nil : try? JSONSerialization.jsonObject(with: self.bytes, options: [.fragmentsAllowed])
        }
        public var object: [String: Any] { self.json as? [String: Any] ?? [:] }
        public var array: [[String: Any]] { self.json as? [[String: Any]] ?? [] }
        /// The body as text (the first 2,000 bytes), for failure messages.
        public var text: String { String(decoding: self.bytes.prefix(2_000), as: UTF8.self) }

        /// The contract's error body (`{"error": {"code", "message", "details": [{"field", "message"}]}}`),
        /// typed; nil when the body is not one.
        public var error: APIErrorBody? { try? JSONDecoder().decode(ErrorEnvelope.self, from: self.bytes).error }
        public var errorCode: String? { self.error?.code }
        public var errorMessage: String { self.error?.message ?? "" }
        /// The `field` of each detail of an error.
        public var detailFields: [String] { self.error?.details?.compactMap(\.field) ?? [] }
        public var detailMessages: [String] { self.error?.details?.compactMap(\.message) ?? [] }

        private struct ErrorEnvelope: Decodable { let error: APIErrorBody }
    }

    /// The error every refused request answers with (the contract's error shape).
    public struct APIErrorBody: Sendable, Decodable, Equatable {
        public struct Detail: Sendable, Decodable, Equatable {
            public let field: String?
            public let message: String?
        }
        public let code: String
        public let message: String
        public let details: [Detail]?
    }

    /// A call that did not answer what the caller needed.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    public let baseURL: String
    public let apiKey: String
    let httpClient: HTTPClient

    public init(baseURL: String, apiKey: String, httpClient: HTTPClient = .shared) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.httpClient = httpClient
    }

    /// How a request authenticates.
    public enum Authorization: Sendable {
        /// `Authorization: Bearer` with the client's key.
        case clientKey
        /// `Authorization: Bearer` with another key.
        case key(String)
        /// This `Authorization` header value as it is (`Basic ...`, a malformed one).
        case header(String)
        /// No `Authorization` header.
        case none
    }

    /// Sends a request with a JSON body, or raw bytes as they are (`contentType` nil: no
    /// Content-Type header at all), or none.
    public func send(
        _ method: HTTPMethod, _ path: String, json: Any? = nil, body: Data? = nil, contentType: String? = nil,
        authorization: Authorization = .clientKey, timeout: TimeAmount = .seconds(120)
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: self.baseURL + path)
        request.method = method
        switch authorization {
        case .clientKey: request.headers.add(name: "Authorization", value: "Bearer \(self.apiKey)")
        case .key(let key): request.headers.add(name: "Authorization", value: "Bearer \(key)")
        case .header(let value): request.headers.add(name: "Authorization", value: value)
        case .none: break
        }
        if let json {
            request.headers.add(name: "Content-Type", value: contentType ?? "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json, options: [.fragmentsAllowed])))
        } else if let body {
            if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await self.httpClient.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers, bytes: Data(bytes.readableBytesView))
    }

    /// Sends text as the body, as JSON unless told otherwise (`contentType` nil: no Content-Type).
    public func send(
        _ method: HTTPMethod, _ path: String, text: String, contentType: String? = "application/json", authorization: Authorization = .clientKey
    ) async throws -> Answer {
        try await self.send(method, path, body: Data(text.utf8), contentType: contentType, authorization: authorization)
    }

    /// Sends and insists on one status; the failure quotes the answer.
    @discardableResult
    public func expect(_ status: Int, _ method: HTTPMethod, _ path: String, json: Any? = nil, body: Data? = nil, contentType: String? = nil) async throws -> Answer {
        let answer = try await self.send(method, path, json: json, body: body, contentType: contentType)
        guard answer.status == status else {
            throw Failure(description: "\(method.rawValue) \(path) answered \(answer.status), expected \(status): \(answer.text)")
        }
        return answer
    }
}

extension ContractClient {
    /// Waits until a destination has nothing queued, in flight or retrying, no backfill running,
    /// and every run window completed.
    public func waitUntilDelivered(_ destinationId: String, timeout: Duration, pollInterval: Duration = .milliseconds(50)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let destination = try await self.expect(200, .GET, "/v1/destinations/\(destinationId)").object
            let backlog = destination["backlog"] as? [String: Int] ?? [:]
            let queued = (backlog["pending"] ?? 0) + (backlog["inFlight"] ?? 0) + (backlog["retrying"] ?? 0)
            if queued == 0, destination["backfill"] as? Bool != true {
                let runs = try await self.expect(200, .GET, "/v1/destinations/\(destinationId)/runs").array
                if runs.allSatisfy({ $0["status"] as? String == "completed" }) { return }
            }
            try await Task.sleep(for: pollInterval)
        }
        throw Failure(description: "destination \(destinationId) still had queued changes after \(timeout)")
    }
}

extension ContractClient {
    /// Connects the service to an emulator with its default credentials (password flow, security
    /// token given separately); returns the connection's id.
    public func connectToEmulator(loginURL: String, name: String = "Emulated org") async throws -> String {
        let connection = try await self.expect(201, .POST, "/v1/connections", json: [
            "name": name, "loginUrl": loginURL,
            "auth": ["type": "password", "username": "integration@emulator.sfdest", "password": "emulator-pw", "securityToken": "TOKEN123",
                     "clientId": "sfdest-emulator-consumer-key", "clientSecret": "sfdest-emulator-consumer-secret"],
        ] as [String: Any])
        return try Self.id(of: connection)
    }

    /// Creates a draft destination; returns its id.
    public func createDestination(connectionId: String, objectType: String = "Contact", name: String? = nil) async throws -> String {
        let destination = try await self.expect(201, .POST, "/v1/destinations", json: [
            "name": name ?? "\(objectType)s", "connectionId": connectionId, "objectType": objectType,
        ])
        return try Self.id(of: destination)
    }

    /// Sets a destination's mappings and audiences and, by default, enables it.
    public func configureDestination(_ id: String, mappings: [[String: String]], segments: [[String: Any]], enable: Bool = true) async throws {
        try await self.expect(200, .PUT, "/v1/destinations/\(id)/mappings", json: mappings)
        try await self.expect(200, .PUT, "/v1/destinations/\(id)/segments", json: segments)
        if enable { try await self.enable(id) }
    }

    /// Enables a destination. Enabling checks the org live, so a Salesforce that did not answer in
    /// time (502 `salesforce_unreachable`, as on a machine loaded by a whole test suite) is asked
    /// again, as a person would press the button again: up to `attempts` times, one second apart.
    /// Any other refusal fails at once.
    public func enable(_ id: String, attempts: Int = 4) async throws {
        for attempt in 1...max(1, attempts) {
            let answer = try await self.send(.POST, "/v1/destinations/\(id)/enable")
            if answer.status == 200 { return }
            guard answer.status == 502, answer.errorCode == "salesforce_unreachable", attempt < attempts else {
                throw Failure(description: "POST /v1/destinations/\(id)/enable answered \(answer.status), expected 200 (attempt \(attempt) of \(attempts)): \(answer.text)")
            }
            print("enable \(id): Salesforce did not answer in time (attempt \(attempt) of \(attempts)), asking again in 1 s")
            try await Task.sleep(for: .seconds(1))
        }
    }

    /// The identity mapping and `lastName -> LastName`, plus the given `xdm path -> field` pairs.
    public static func mappings(_ fields: KeyValuePairs<String, String> = [:]) -> [[String: String]] {
        [
            ["source": "identityMap:crmID", "target": "identity:SalesforceId"],
            ["source": "xdm:person.name.lastName", "target": "attribute:LastName"],
        ] + fields.map { ["source": "xdm:\($0.key)", "target": "attribute:\($0.value)"] }
    }

    /// Posts profiles as one NDJSON body and insists on 202.
    @discardableResult
    public func postProfiles(_ profiles: [[String: Any]]) async throws -> Answer {
        var body = Data()
        for profile in profiles {
            body += try JSONSerialization.data(withJSONObject: profile)
            body.append(0x0A)
        }
        return try await self.expect(202, .POST, "/v1/profiles", body: body, contentType: "application/x-ndjson")
    }

    private static func id(of answer: Answer) throws -> String {
        guard let id = answer.object["id"] as? String else { throw Failure(description: "the answer has no id: \(answer.object)") }
        return id
    }
}
