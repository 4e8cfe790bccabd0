import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A client for the emulator's admin API (`/emulator/...`), used by the CLI, the benchmark and tests
/// to seed records, add fields, inject faults and read counters over real HTTP.
///
/// It speaks only the admin API, never Salesforce's wire format: that is the job of `SalesforceAPI`.
public struct EmulatorAdminClient: Sendable {
    /// What went wrong talking to the admin API.
    public struct Failure: Error, CustomStringConvertible {
        public let status: Int
        public let body: String
        public let request: String
        public var description: String { "emulator admin \(self.request) answered \(self.status): \(self.body)" }
    }

    public let baseURL: String
    private let httpClient: HTTPClient
    private let timeout: TimeAmount

    public init(baseURL: String, httpClient: HTTPClient = .shared, timeout: TimeAmount = .seconds(60)) {
        self.baseURL = baseURL
        self.httpClient = httpClient
        self.timeout = timeout
    }

    /// Creates a Long Text Area custom field on each object type.
    public func addLongTextAreaFields(_ names: [String], to objectTypes: [String], length: Int = 32768) async throws {
        for objectType in objectTypes {
            for name in names {
                try await self.addField(objectType: objectType, name: name, fieldType: "textarea", length: length)
            }
        }
    }

    /// Creates a custom field (`textarea`, `string`, `email`, `boolean`).
    public func addField(objectType: String, name: String, fieldType: String, length: Int? = nil, externalId: Bool = false) async throws {
        var body: [String: Any] = ["type": objectType, "name": name, "fieldType": fieldType]
        if let length { body["length"] = length }
        if externalId { body["externalId"] = true }
        _ = try await self.send(.POST, "/emulator/fields", json: body)
    }

    /// Removes a custom field, as when an admin deletes it in the org.
    public func deleteField(objectType: String, name: String) async throws {
        _ = try await self.send(.DELETE, "/emulator/fields/\(objectType)/\(name)")
    }

    /// Creates records and returns their 18-character Ids in order.
    public func createRecords(objectType: String, records: [[String: Any]]) async throws -> [String] {
        let answer = try await self.send(.POST, "/emulator/records", json: ["type": objectType, "records": records])
        return (answer as? [String: Any])?["ids"] as? [String] ?? []
    }

    /// Generates `count` plausible records and returns their Ids in order.
    public func createRecords(objectType: String, count: Int) async throws -> [String] {
        let answer = try await self.send(.POST, "/emulator/records", json: ["type": objectType, "count": count])
        return (answer as? [String: Any])?["ids"] as? [String] ?? []
    }

    /// One record with every field, or nil when the org has no such record.
    public func record(_ id: String) async throws -> [String: Any]? {
        do {
            return try await self.send(.GET, "/emulator/records/\(id)") as? [String: Any]
        } catch let failure as Failure where failure.status == 404 {
            return nil
        }
    }

    /// The Ids of an object's live records, or of those whose external Id field holds `value`.
    public func recordIds(objectType: String, field: String? = nil, value: String? = nil) async throws -> [String] {
        var query = "type=\(Self.queryEscaped(objectType))"
        if let field { query += "&field=\(Self.queryEscaped(field))" }
        if let value { query += "&value=\(Self.queryEscaped(value))" }
        let answer = try await self.send(.GET, "/emulator/records?\(query)") as? [String: Any]
        return answer?["ids"] as? [String] ?? []
    }

    /// Converts a lead as a sales rep would; returns the new Contact's Id.
    public func convertLead(_ id: String) async throws -> String {
        let answer = try await self.send(.POST, "/emulator/records/\(id)/convert") as? [String: Any]
        return answer?["contactId"] as? String ?? ""
    }

    private static func queryEscaped(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }

    /// Deletes a record: later updates answer `ENTITY_IS_DELETED`.
    public func deleteRecord(_ id: String) async throws {
        _ = try await self.send(.DELETE, "/emulator/records/\(id)")
    }

    /// Sets fault injection (partial: only the keys given change).
    public func setFaults(_ faults: [String: Any]) async throws {
        _ = try await self.send(.POST, "/emulator/faults", json: faults)
    }

    /// Invalidates every issued access token.
    public func expireSessions() async throws {
        _ = try await self.send(.POST, "/emulator/sessions/expire")
    }

    /// Every access token the org issued (the last 10,000).
    public func issuedTokens() async throws -> [String] {
        let answer = try await self.send(.GET, "/emulator/tokens") as? [String: Any]
        return answer?["tokens"] as? [String] ?? []
    }

    /// Uploads the connected app's certificate (PEM X.509, an RSA key) for the JWT bearer flow,
    /// as "Use digital signatures" does; replaces any earlier one.
    public func setJWTCertificate(_ pem: String) async throws {
        var request = HTTPClientRequest(url: self.baseURL + "/emulator/connected-app/certificate")
        request.method = .PUT
        request.headers.add(name: "Content-Type", value: "application/x-pem-file")
        request.body = .bytes(ByteBuffer(string: pem))
        let response = try await self.httpClient.execute(request, timeout: self.timeout)
        let body = try await response.body.collect(upTo: 1 << 20)
        guard (200..<300).contains(response.status.code) else {
            throw Failure(status: Int(response.status.code), body: String(buffer: body), request: "PUT /emulator/connected-app/certificate")
        }
    }

    /// Removes the connected app's certificate: JWT bearer assertions answer "invalid assertion".
    public func removeJWTCertificate() async throws {
        _ = try await self.send(.DELETE, "/emulator/connected-app/certificate")
    }

    /// Sets the connected app's JWT bearer policy (only what is given changes): whether the
    /// integration user is pre-authorized ("Admin approved users are pre-authorized" with its
    /// profile assigned), and the audiences accepted besides the emulator's own URL.
    public func setConnectedApp(preAuthorized: Bool? = nil, audiences: [String]? = nil) async throws {
        var patch: [String: Any] = [:]
        if let preAuthorized { patch["preAuthorized"] = preAuthorized }
        if let audiences { patch["audiences"] = audiences }
        _ = try await self.send(.POST, "/emulator/connected-app", json: patch)
    }

    /// The org's counters.
    public func stats() async throws -> EmulatorStats {
        let object = try await self.send(.GET, "/emulator/stats") as? [String: Any] ?? [:]
        return EmulatorStats(object)
    }

    /// Sends one admin request and returns the decoded JSON answer (nil for an empty body).
    @discardableResult
    public func send(_ method: HTTPMethod, _ path: String, json: Any? = nil) async throws -> Any? {
        var request = HTTPClientRequest(url: self.baseURL + path)
        request.method = method
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
        }
        let response = try await self.httpClient.execute(request, timeout: self.timeout)
        let body = try await response.body.collect(upTo: 64 << 20)
        let text = String(buffer: body)
        guard (200..<300).contains(response.status.code) else {
            throw Failure(status: Int(response.status.code), body: text, request: "\(method.rawValue) \(path)")
        }
        guard body.readableBytes > 0 else { return nil }
        return try JSONSerialization.jsonObject(with: Data(body.readableBytesView), options: [.fragmentsAllowed])
    }
}

/// The emulator's counters (`GET /emulator/stats`).
public struct EmulatorStats: Sendable, Equatable {
    public var apiCalls: Int
    public var callsByEndpoint: [String: Int]
    public var recordsWritten: Int
    public var apiUsed: Int
    public var apiMax: Int
    public var tokensIssued: Int
    public var tokenRequests: Int
    /// Issued tokens presented in a REST call at least once, and issued tokens refused 401 at
    /// least once because their session had ended.
    public var tokensPresented: Int
    public var tokensRefused: Int
    /// How often each injected fault struck.
    public var faultsStruck: FaultsStruck
    /// REST calls the org is serving right now (admitted, not yet answered); a reset leaves it.
    public var restCallsInFlight: Int
    /// Records that arrived in a collection write while another write with the same record was
    /// in flight (a client breaking per-record order), and the first of them.
    public var overlappingWrites: Int
    public var overlappingRecords: [String]

    init(_ object: [String: Any]) {
        self.apiCalls = object["apiCalls"] as? Int ?? 0
        self.callsByEndpoint = object["callsByEndpoint"] as? [String: Int] ?? [:]
        self.recordsWritten = object["recordsWritten"] as? Int ?? 0
        let usage = object["apiUsage"] as? [String: Any] ?? [:]
        self.apiUsed = usage["used"] as? Int ?? 0
        self.apiMax = usage["max"] as? Int ?? 0
        self.tokensIssued = object["tokensIssued"] as? Int ?? 0
        self.tokenRequests = object["tokenRequests"] as? Int ?? 0
        self.tokensPresented = object["tokensPresented"] as? Int ?? 0
        self.tokensRefused = object["tokensRefused"] as? Int ?? 0
        self.faultsStruck = FaultsStruck(object["faultsStruck"] as? [String: Any] ?? [:])
        self.restCallsInFlight = object["restCallsInFlight"] as? Int ?? 0
        self.overlappingWrites = object["overlappingWrites"] as? Int ?? 0
        self.overlappingRecords = object["overlappingRecords"] as? [String] ?? []
    }
}

/// How often each injected fault struck since start or the last reset (`faultsStruck` of the stats).
public struct FaultsStruck: Sendable, Equatable {
    /// REST calls delayed by `latencyMs`.
    public var latency: Int
    /// REST calls delayed by `latencySpikeMs` more.
    public var latencySpike: Int
    /// REST calls whose connection was closed without an answer.
    public var dropConnection: Int
    /// REST calls answered 503 SERVER_UNAVAILABLE.
    public var serverUnavailable: Int
    /// Records answered UNABLE_TO_LOCK_ROW.
    public var lockRow: Int
    /// REST calls refused 401 because their session outlived `tokenTtlSeconds`.
    public var sessionExpired: Int
    /// REST calls refused REQUEST_LIMIT_EXCEEDED.
    public var requestLimitExceeded: Int
    /// Token requests refused "ip restricted".
    public var ipRestricted: Int
    /// Password grants refused because the flow is disabled.
    public var passwordFlowDisabled: Int
    /// REST calls held unanswered while `holdRestCalls` was on.
    public var held: Int

    public init(
        latency: Int = 0, latencySpike: Int = 0, dropConnection: Int = 0, serverUnavailable: Int = 0, lockRow: Int = 0,
        sessionExpired: Int = 0, requestLimitExceeded: Int = 0, ipRestricted: Int = 0, passwordFlowDisabled: Int = 0,
        held: Int = 0
    ) {
        self.latency = latency
        self.latencySpike = latencySpike
        self.dropConnection = dropConnection
        self.serverUnavailable = serverUnavailable
        self.lockRow = lockRow
        self.sessionExpired = sessionExpired
        self.requestLimitExceeded = requestLimitExceeded
        self.ipRestricted = ipRestricted
        self.passwordFlowDisabled = passwordFlowDisabled
        self.held = held
    }

    init(_ object: [String: Any]) {
        self.latency = object["latency"] as? Int ?? 0
        self.latencySpike = object["latencySpike"] as? Int ?? 0
        self.dropConnection = object["dropConnection"] as? Int ?? 0
        self.serverUnavailable = object["serverUnavailable"] as? Int ?? 0
        self.lockRow = object["lockRow"] as? Int ?? 0
        self.sessionExpired = object["sessionExpired"] as? Int ?? 0
        self.requestLimitExceeded = object["requestLimitExceeded"] as? Int ?? 0
        self.ipRestricted = object["ipRestricted"] as? Int ?? 0
        self.passwordFlowDisabled = object["passwordFlowDisabled"] as? Int ?? 0
        self.held = object["held"] as? Int ?? 0
    }

    /// The count of the fault a `/emulator/faults` key sets, nil for a key that sets no fault
    /// (`apiUsed`) or an unknown one.
    public func struck(byFaultKey key: String) -> Int? {
        switch key {
        case "latencyMs": self.latency
        case "latencySpikeRate", "latencySpikeMs": self.latencySpike
        case "dropConnectionRate": self.dropConnection
        case "serverUnavailableRate": self.serverUnavailable
        case "lockRowRate": self.lockRow
        case "tokenTtlSeconds": self.sessionExpired
        case "apiLimit": self.requestLimitExceeded
        case "ipRestricted": self.ipRestricted
        case "passwordFlowDisabled": self.passwordFlowDisabled
        case "holdRestCalls": self.held
        default: nil
        }
    }
}
