/// Every failure of the Salesforce client, classified for the caller.
///
/// `code` is Salesforce's own code where there is one (`INVALID_FIELD`, `REQUEST_LIMIT_EXCEEDED`, or
/// the OAuth `error` such as `invalid_grant`), otherwise one of the client's codes:
/// `REQUEST_TIMEOUT`, `CONNECTION_FAILED`, `RESPONSE_TOO_LARGE`, `INVALID_RESPONSE`,
/// `EXCEEDED_ID_LIMIT`, `INVALID_FIELD_VALUE`, `INVALID_NAME`, `INVALID_JOB_ID`, `INVALID_API_VERSION`,
/// `INVALID_CUSTOM_DOMAIN`, `INVALID_LOGIN_URL`, `INVALID_PRIVATE_KEY` (the JWT bearer flow's key),
/// `INSECURE_LOGIN_URL`, `HOST_NOT_ALLOWED` (the
/// outbound host policy refused a login or instance host), `REDIRECT_REFUSED` (a 3xx answer: no
/// redirect is followed), `HTTP_<status>`.
/// `message` is Salesforce's message (for token errors its `error_description`), quoted as given;
/// a body that is not Salesforce's JSON is never quoted.
public struct SalesforceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What the caller should do about the failure.
    public enum Disposition: String, Sendable, Equatable {
        /// Transient: 5xx, timeouts, dropped connections, row locks. Retry later with backoff.
        case retryLater
        /// The org's API limit (403 `REQUEST_LIMIT_EXCEEDED`): back off; re-authenticating does not help.
        case throttled
        /// A fresh token was refused too (401 after one refresh): the session cannot be restored now.
        case reauthenticate
        /// A person must fix something (credentials, mapping, data, configuration) before a retry helps.
        case permanent
    }

    /// Where the failure arose.
    public enum Kind: String, Sendable, Equatable {
        /// The connection settings are invalid; nothing was sent.
        case configuration
        /// The OAuth token endpoint refused the credentials.
        case authentication
        /// A REST call answered with an error status.
        case api
        /// No complete answer: timeout, refused or dropped connection.
        case transport
        /// The request was refused before sending (too many records, a bad name or value).
        case invalidRequest
        /// The answer could not be read (not the JSON expected, or too large).
        case invalidResponse
    }

    public var kind: Kind
    public var disposition: Disposition
    public var code: String
    public var message: String
    /// The HTTP status of the answer, when there was one.
    public var httpStatus: Int?
    /// What a person can do about it, when the client knows.
    public var hint: String?
    /// Field names Salesforce blamed, when it named any.
    public var fields: [String]

    public init(
        kind: Kind, disposition: Disposition, code: String, message: String,
        httpStatus: Int? = nil, hint: String? = nil, fields: [String] = []
    ) {
        self.kind = kind
        self.disposition = disposition
        self.code = code
        self.message = message
        self.httpStatus = httpStatus
        self.hint = hint
        self.fields = fields
    }

    public var description: String {
        var text = "\(self.code): \(self.message)"
        if let httpStatus { text += " (HTTP \(httpStatus))" }
        if let hint { text += ". \(hint)" }
        return text
    }

    static func configuration(code: String, message: String, hint: String?) -> SalesforceError {
        SalesforceError(kind: .configuration, disposition: .permanent, code: code, message: message, hint: hint)
    }

    static func invalidRequest(code: String, message: String, hint: String? = nil) -> SalesforceError {
        SalesforceError(kind: .invalidRequest, disposition: .permanent, code: code, message: message, hint: hint)
    }

    static func invalidResponse(_ message: String, httpStatus: Int?) -> SalesforceError {
        SalesforceError(
            kind: .invalidResponse, disposition: .permanent, code: "INVALID_RESPONSE", message: message,
            httpStatus: httpStatus, hint: "Salesforce answered in an unexpected shape; check the API version and login URL"
        )
    }
}
