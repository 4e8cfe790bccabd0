/// One activated audience on a destination: which segment, which field its status goes to
/// (the Mapping ID), and the dates between which its statuses are sent.
public struct AudienceSchedule: Hashable, Sendable {
    public var segmentId: String
    /// The custom field's API name, always ending in `__c`.
    public var fieldName: String
    /// Statuses qualified before this UTC day are not sent. Milliseconds since 1970.
    public var startsAt: Int64?
    /// Statuses qualified after this UTC day are not sent (the day itself is included).
    public var endsAt: Int64?

    public init(segmentId: String, fieldName: String, startsAt: Int64? = nil, endsAt: Int64? = nil) {
        self.segmentId = segmentId
        self.fieldName = fieldName
        self.startsAt = startsAt
        self.endsAt = endsAt
    }

    /// Reads the contract's form: a Mapping ID with or without `__c`, dates as `YYYY-MM-DD`.
    public init(segmentId: String, mappingId: String, startDate: String? = nil, endDate: String? = nil) throws(ConfigurationProblems) {
        var problems: [ConfigurationProblem] = []
        let trimmedSegment = segmentId.trimmingWhitespace()
        if trimmedSegment.isEmpty {
            problems.append(.init(field: "segmentId", message: "must not be empty"))
        }
        let fieldName = Self.fieldName(mappingId: mappingId, problems: &problems)
        let start = Self.day(startDate, field: "startDate", endOfDay: false, problems: &problems)
        let end = Self.day(endDate, field: "endDate", endOfDay: true, problems: &problems)
        if let start, let end, end < start {
            problems.append(.init(field: "endDate", message: "\(endDate ?? "") is before startDate \(startDate ?? "")"))
        }
        guard problems.isEmpty, let fieldName else { throw ConfigurationProblems(problems) }
        self.init(segmentId: trimmedSegment, fieldName: fieldName, startsAt: start, endsAt: end)
    }

    /// Whether a membership qualified at this time is within the audience's dates.
    public func isInWindow(_ qualifiedAt: Int64) -> Bool {
        if let startsAt, qualifiedAt < startsAt { return false }
        if let endsAt, qualifiedAt > endsAt { return false }
        return true
    }

    /// The API name of the custom field a Mapping ID names: `crm_1_seg` and `crm_1_seg__c` are one.
    static func fieldName(mappingId: String, problems: inout [ConfigurationProblem]) -> String? {
        let base = mappingId.dropSuffix("__c") ?? mappingId
        if let problem = FieldName.customFieldBaseProblem(base) {
            problems.append(.init(field: "mappingId", message: "'\(mappingId)' is not a custom field name: \(problem)"))
            return nil
        }
        return base + "__c"
    }

    static func day(_ text: String?, field: String, endOfDay: Bool, problems: inout [ConfigurationProblem]) -> Int64? {
        guard let text else { return nil }
        let isDay = text.utf8.count == 10
        guard isDay, let start = Timestamp.parseMilliseconds(text) else {
            problems.append(.init(field: field, message: "'\(text)' is not a date such as 2026-11-01"))
            return nil
        }
        return endOfDay ? start + 86_400_000 - 1 : start
    }
}
