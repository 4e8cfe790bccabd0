import SfdestJSON

/// Trouble the emulated org can be told to cause, set through `/emulator/faults`.
struct Faults: Sendable {
    /// Fraction of REST calls answered 503 SERVER_UNAVAILABLE.
    var serverUnavailableRate = 0.0
    /// Fraction of otherwise valid record updates answered UNABLE_TO_LOCK_ROW.
    var lockRowRate = 0.0
    /// Sessions expire this long after they were issued; nil means never.
    var tokenTtlSeconds: Double?
    /// Delay added to every REST call.
    var latencyMs = 0
    /// Fraction of REST calls delayed by `latencySpikeMs` more.
    var latencySpikeRate = 0.0
    var latencySpikeMs = 0
    /// The token endpoint refuses every grant with "ip restricted".
    var ipRestricted = false
    /// Fraction of REST calls whose connection is closed without an answer.
    var dropConnectionRate = 0.0
    /// The password grant fails as in orgs that block the flow.
    var passwordFlowDisabled = false
    /// REST calls wait, admitted and unanswered, until this is turned off: a test can act (kill a
    /// client) while its requests are certainly in flight.
    var holdRestCalls = false
    /// The `instance_url` token answers give instead of the emulator's own address (a test of
    /// what a client does when a login host points it elsewhere); nil for the emulator's own.
    var instanceUrl: String?
    /// Bulk API 2.0: a pause before each internal batch of 10,000 rows, so a test can watch a job
    /// InProgress (or stop a client mid-job).
    var bulkBatchDelayMs = 0
    /// Bulk API 2.0: records and batches allowed per rolling 24 hours (Salesforce: 150,000,000 and 15,000).
    var bulkDailyRecordLimit = 150_000_000
    var bulkDailyBatchLimit = 15_000
    /// Bulk API 2.0: the next upload is answered 500 (then the flag clears itself).
    var bulkFailNextUpload = false
    /// Bulk API 2.0: a job fails after this many internal batches (the rest unprocessed); nil for never.
    var bulkFailJobAfterBatches: Int?
}

/// Calls used against the org's daily allowance.
struct APIUsage: Sendable {
    var used = 0
    var max = 15_000
}

extension Faults {
    static let keys: Set<String> = [
        "serverUnavailableRate", "lockRowRate", "tokenTtlSeconds", "latencyMs", "latencySpikeRate",
        "latencySpikeMs", "apiLimit", "apiUsed", "ipRestricted", "dropConnectionRate", "passwordFlowDisabled",
        "holdRestCalls", "instanceUrl",
        "bulkBatchDelayMs", "bulkDailyRecordLimit", "bulkDailyBatchLimit", "bulkFailNextUpload", "bulkFailJobAfterBatches",
    ]

    /// Every fault with its current value, plus the API allowance.
    func json(usage: APIUsage) -> JSON {
        .object([
            ("serverUnavailableRate", .double(self.serverUnavailableRate)),
            ("lockRowRate", .double(self.lockRowRate)),
            ("tokenTtlSeconds", self.tokenTtlSeconds.map(JSON.double) ?? .null),
            ("latencyMs", .int(self.latencyMs)),
            ("latencySpikeRate", .double(self.latencySpikeRate)),
            ("latencySpikeMs", .int(self.latencySpikeMs)),
            ("apiLimit", .int(usage.max)),
            ("apiUsed", .int(usage.used)),
            ("ipRestricted", .bool(self.ipRestricted)),
            ("dropConnectionRate", .double(self.dropConnectionRate)),
            ("passwordFlowDisabled", .bool(self.passwordFlowDisabled)),
            ("holdRestCalls", .bool(self.holdRestCalls)),
            ("instanceUrl", self.instanceUrl.map(JSON.string) ?? .null),
            ("bulkBatchDelayMs", .int(self.bulkBatchDelayMs)),
            ("bulkDailyRecordLimit", .int(self.bulkDailyRecordLimit)),
            ("bulkDailyBatchLimit", .int(self.bulkDailyBatchLimit)),
            ("bulkFailNextUpload", .bool(self.bulkFailNextUpload)),
            ("bulkFailJobAfterBatches", self.bulkFailJobAfterBatches.map(JSON.int) ?? .null),
        ])
    }

    /// Applies a partial update; nothing changes unless every key and value is valid.
    static func applying(
        _ patch: [(String, JSON)], to faults: Faults, usage: APIUsage
    ) throws(AdminFailure) -> (Faults, APIUsage) {
        var faults = faults
        var usage = usage
        for (key, value) in patch {
            switch key {
            case "serverUnavailableRate": faults.serverUnavailableRate = try Self.rate(value, key)
            case "lockRowRate": faults.lockRowRate = try Self.rate(value, key)
            case "latencySpikeRate": faults.latencySpikeRate = try Self.rate(value, key)
            case "dropConnectionRate": faults.dropConnectionRate = try Self.rate(value, key)
            case "tokenTtlSeconds":
                if value.isNull {
                    faults.tokenTtlSeconds = nil
                } else {
                    guard let seconds = value.numberValue, seconds >= 0 else {
                        throw .badRequest("tokenTtlSeconds must be a non-negative number of seconds, or null")
                    }
                    faults.tokenTtlSeconds = seconds
                }
            case "latencyMs": faults.latencyMs = try Self.required(Self.count(value, key), key)
            case "latencySpikeMs": faults.latencySpikeMs = try Self.required(Self.count(value, key), key)
            case "apiLimit": usage.max = try Self.required(Self.count(value, key), key)
            case "apiUsed": usage.used = try Self.required(Self.count(value, key), key)
            case "ipRestricted": faults.ipRestricted = try Self.flag(value, key)
            case "passwordFlowDisabled": faults.passwordFlowDisabled = try Self.flag(value, key)
            case "holdRestCalls": faults.holdRestCalls = try Self.flag(value, key)
            case "instanceUrl":
                if value.isNull {
                    faults.instanceUrl = nil
                } else {
                    guard let url = value.stringValue, !url.isEmpty else { throw .badRequest("instanceUrl must be a URL string, or null") }
                    faults.instanceUrl = url
                }
            case "bulkBatchDelayMs": faults.bulkBatchDelayMs = try Self.required(Self.count(value, key), key)
            case "bulkDailyRecordLimit": faults.bulkDailyRecordLimit = try Self.required(Self.count(value, key), key)
            case "bulkDailyBatchLimit": faults.bulkDailyBatchLimit = try Self.required(Self.count(value, key), key)
            case "bulkFailNextUpload": faults.bulkFailNextUpload = try Self.flag(value, key)
            case "bulkFailJobAfterBatches":
                faults.bulkFailJobAfterBatches = value.isNull ? nil : try Self.required(Self.count(value, key), key)
            default:
                throw .badRequest("unknown fault '\(key)'; known: \(Self.keys.sorted().joined(separator: ", "))")
            }
        }
        return (faults, usage)
    }

    private static func rate(_ value: JSON, _ key: String) throws(AdminFailure) -> Double {
        guard let number = value.numberValue, number >= 0, number <= 1 else {
            throw .badRequest("\(key) must be a number from 0 to 1")
        }
        return number
    }

    /// A non-negative whole number, or nil for a fractional one.
    private static func count(_ value: JSON, _ key: String) throws(AdminFailure) -> Int? {
        guard let number = value.numberValue, number >= 0 else {
            throw .badRequest("\(key) must be a non-negative number")
        }
        return number.rounded() == number ? Int(number) : nil
    }

    private static func required(_ value: Int?, _ key: String) throws(AdminFailure) -> Int {
        guard let value else { throw .badRequest("\(key) must be a whole number") }
        return value
    }

    private static func flag(_ value: JSON, _ key: String) throws(AdminFailure) -> Bool {
        guard let flag = value.boolValue else { throw .badRequest("\(key) must be true or false") }
        return flag
    }
}
