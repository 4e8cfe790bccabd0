import SfdestJSON

/// What the org has been asked to do since start or the last reset, for `/emulator/stats`.
struct EmulatorStats: Sendable {
    /// Authenticated REST calls, whatever their answer.
    var apiCalls = 0
    /// Calls by "METHOD /path" with the `/services/data/vNN.N` prefix dropped and Ids as `{id}`.
    var callsByEndpoint: [String: Int] = [:]
    /// Records created or updated through the REST API.
    var recordsWritten = 0
    var tokensIssued = 0
    /// Every POST to the token endpoint, successful or not.
    var tokenRequests = 0
    /// Issued tokens presented in a REST call, and issued tokens refused 401 because their session
    /// had ended (each counted once).
    var tokensPresented = 0
    var tokensRefused = 0
    /// How often each injected fault struck.
    var faultsStruck: [FaultKind: Int] = [:]
    /// Records that arrived in a collection write while another write carrying the same record was
    /// still in flight, and the first of them (by Id or external Id value).
    var overlappingWrites = 0
    var overlappingRecords: [String] = []
    static let overlappingRecordsKept = 50

    mutating func count(_ struck: some Sequence<FaultKind>) {
        for kind in struck {
            self.faultsStruck[kind, default: 0] += 1
        }
    }

    /// - Parameter restCallsInFlight: REST calls being served now (not reset with the counters).
    func json(usage: APIUsage, restCallsInFlight: Int) -> JSON {
        .object([
            ("apiCalls", .int(self.apiCalls)),
            ("callsByEndpoint", .object(self.callsByEndpoint.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })),
            ("recordsWritten", .int(self.recordsWritten)),
            ("apiUsage", .object([("used", .int(usage.used)), ("max", .int(usage.max))])),
            ("tokensIssued", .int(self.tokensIssued)),
            ("tokenRequests", .int(self.tokenRequests)),
            ("tokensPresented", .int(self.tokensPresented)),
            ("tokensRefused", .int(self.tokensRefused)),
            ("faultsStruck", .object(FaultKind.allCases.map { ($0.rawValue, .int(self.faultsStruck[$0] ?? 0)) })),
            ("restCallsInFlight", .int(restCallsInFlight)),
            ("overlappingWrites", .int(self.overlappingWrites)),
            ("overlappingRecords", .array(self.overlappingRecords.map(JSON.string))),
        ])
    }
}

/// Each way an injected fault can strike, as counted in `faultsStruck`.
enum FaultKind: String, Sendable, CaseIterable {
    /// A REST call delayed by `latencyMs`.
    case latency
    /// A REST call delayed by `latencySpikeMs` more.
    case latencySpike
    /// A REST call whose connection was closed without an answer (`dropConnectionRate`).
    case dropConnection
    /// A REST call answered 503 (`serverUnavailableRate`).
    case serverUnavailable
    /// A record of a collection answered UNABLE_TO_LOCK_ROW (`lockRowRate`).
    case lockRow
    /// A REST call refused 401 because its session outlived `tokenTtlSeconds`.
    case sessionExpired
    /// A REST call refused REQUEST_LIMIT_EXCEEDED (`apiLimit`).
    case requestLimitExceeded
    /// A token request refused "ip restricted" (`ipRestricted`).
    case ipRestricted
    /// A password grant with the right credentials refused (`passwordFlowDisabled`).
    case passwordFlowDisabled
    /// A REST call held unanswered while `holdRestCalls` was on.
    case held
}
