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

    func json(usage: APIUsage) -> JSON {
        .object([
            ("apiCalls", .int(self.apiCalls)),
            ("callsByEndpoint", .object(self.callsByEndpoint.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })),
            ("recordsWritten", .int(self.recordsWritten)),
            ("apiUsage", .object([("used", .int(usage.used)), ("max", .int(usage.max))])),
            ("tokensIssued", .int(self.tokensIssued)),
            ("tokenRequests", .int(self.tokenRequests)),
        ])
    }
}
