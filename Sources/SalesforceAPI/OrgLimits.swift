/// `GET .../limits/`: each org limit's allowance and what is left of it.
public struct OrgLimits: Sendable, Equatable {
    /// One limit (`{"Max":5000,"Remaining":4937}`).
    public struct Limit: Sendable, Equatable, Decodable {
        public var max: Int
        public var remaining: Int

        public init(max: Int, remaining: Int) {
            self.max = max
            self.remaining = remaining
        }

        public var used: Int { Swift.max(0, self.max - self.remaining) }

        private enum CodingKeys: String, CodingKey {
            case max = "Max"
            case remaining = "Remaining"
        }
    }

    /// Every limit the org reported, by Salesforce's name (`DailyApiRequests`, `DailyBulkV2QueryJobs`...).
    public var all: [String: Limit]

    public init(all: [String: Limit]) {
        self.all = all
    }

    /// The daily API request allowance, when reported.
    public var dailyApiRequests: Limit? { self.all["DailyApiRequests"] }
}

/// One entry of `GET /services/data/`.
public struct APIVersionInfo: Sendable, Equatable, Decodable {
    /// The release name (`Spring '26`).
    public var label: String
    /// The version's path (`/services/data/v66.0`).
    public var url: String
    /// The bare number (`66.0`).
    public var version: String

    public init(label: String, url: String, version: String) {
        self.label = label
        self.url = url
        self.version = version
    }
}

/// Decodes the limits map, skipping entries that are not `{Max, Remaining}` objects.
struct OrgLimitsAnswer: Decodable {
    var limits: [String: OrgLimits.Limit]

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: DynamicCodingKey.self)
        var limits: [String: OrgLimits.Limit] = [:]
        for key in container.allKeys {
            if let limit = try? container.decode(OrgLimits.Limit.self, forKey: key) { limits[key.stringValue] = limit }
        }
        self.limits = limits
    }
}
