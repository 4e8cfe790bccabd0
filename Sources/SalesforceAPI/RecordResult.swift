import Foundation

/// Salesforce's answer for one record of an sObject Collections request, in request order.
public struct RecordResult: Sendable, Equatable, Decodable {
    /// The record's Id (absent for most failures).
    public var id: String?
    public var success: Bool
    /// For upserts: true when the record was created, false when an existing one was updated.
    public var created: Bool?
    public var errors: [RecordError]

    public init(id: String?, success: Bool, created: Bool? = nil, errors: [RecordError] = []) {
        self.id = id
        self.success = success
        self.created = created
        self.errors = errors
    }

    /// Nil on success; otherwise `.retryLater` when every error is transient, else `.permanent`.
    public var disposition: SalesforceError.Disposition? {
        if self.success { return nil }
        if !self.errors.isEmpty, self.errors.allSatisfy({ $0.disposition == .retryLater }) { return .retryLater }
        return .permanent
    }

    /// The first error's status code, the one to report (`MALFORMED_ID`, `CANNOT_UPDATE_CONVERTED_LEAD`...).
    public var statusCode: String? { self.errors.first?.statusCode }

    private enum CodingKeys: String, CodingKey { case id, success, created, errors }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.id = try container.decodeIfPresent(String.self, forKey: .id)
        self.success = try container.decode(Bool.self, forKey: .success)
        self.created = try container.decodeIfPresent(Bool.self, forKey: .created)
        self.errors = try container.decodeIfPresent([RecordError].self, forKey: .errors) ?? []
    }
}

/// One reason Salesforce refused one record (`statusCode`, `message`, `fields`).
public struct RecordError: Sendable, Equatable, Decodable {
    public var statusCode: String
    public var message: String
    public var fields: [String]

    public init(statusCode: String, message: String, fields: [String] = []) {
        self.statusCode = statusCode
        self.message = message
        self.fields = fields
    }

    /// `.retryLater` for transient codes: `UNABLE_TO_LOCK_ROW`, and `ALL_OR_NONE_OPERATION_ROLLED_BACK`
    /// (the record itself was fine; another one failed the all-or-none batch). Everything else is
    /// `.permanent`; callers may special-case `statusCode` (`CANNOT_UPDATE_CONVERTED_LEAD`, `STRING_TOO_LONG`).
    public var disposition: SalesforceError.Disposition {
        Self.transientStatusCodes.contains(self.statusCode) ? .retryLater : .permanent
    }

    /// Per-record codes worth retrying unchanged.
    public static let transientStatusCodes: Set<String> = [
        "UNABLE_TO_LOCK_ROW", "ALL_OR_NONE_OPERATION_ROLLED_BACK", "SERVER_UNAVAILABLE",
    ]

    private enum CodingKeys: String, CodingKey { case statusCode, errorCode, message, fields }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        // Per-record errors use `statusCode`; accept `errorCode` too rather than lose the reason.
        self.statusCode = try container.decodeIfPresent(String.self, forKey: .statusCode)
            ?? container.decodeIfPresent(String.self, forKey: .errorCode) ?? "UNKNOWN_EXCEPTION"
        self.message = try container.decodeIfPresent(String.self, forKey: .message) ?? ""
        self.fields = try container.decodeIfPresent([String].self, forKey: .fields) ?? []
    }
}
