import Foundation

/// Reading a failed REST answer (a JSON array of `{"errorCode","message"}`) into a classified error.
extension SalesforceError {
    /// One element of Salesforce's top-level error array.
    private struct RESTErrorItem: Decodable {
        var errorCode: String?
        var message: String?
        var fields: [String]?
    }

    /// Classifies an error answer of a REST call from its status and body.
    public static func fromRESTResponse(status: Int, body: Data) -> SalesforceError {
        let items = (try? JSONDecoder().decode([RESTErrorItem].self, from: body))
            ?? (try? JSONDecoder().decode(RESTErrorItem.self, from: body)).map { [$0] }
            ?? []
        let first = items.first
        let code = first?.errorCode ?? "HTTP_\(status)"
        let message = first?.message ?? Self.snippet(of: body, status: status)
        var fields = first?.fields ?? []
        if fields.isEmpty, code == "INVALID_FIELD", let name = Self.quotedName(in: message) { fields = [name] }
        return SalesforceError(
            kind: .api, disposition: Self.restDisposition(status: status, code: code), code: code,
            message: message, httpStatus: status, hint: Self.restHint(status: status, code: code), fields: fields
        )
    }

    /// What a caller should do after a REST error with this status and Salesforce code.
    static func restDisposition(status: Int, code: String) -> Disposition {
        switch code {
        case "REQUEST_LIMIT_EXCEEDED", "TXN_SECURITY_REQUEST_LIMIT_EXCEEDED": return .throttled
        case "UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "QUERY_TIMEOUT": return .retryLater
        case "INVALID_SESSION_ID": return .reauthenticate
        default: break
        }
        switch status {
        case 401: return .reauthenticate
        case 408, 500...599: return .retryLater
        case 429: return .throttled
        default: return .permanent
        }
    }

    /// A sentence a person can act on for the common REST error codes.
    static func restHint(status: Int, code: String) -> String? {
        switch code {
        case "REQUEST_LIMIT_EXCEEDED":
            return "the org's API request limit (daily or concurrent) is used up: wait and retry; raise the limit or lower the send rate"
        case "API_DISABLED_FOR_ORG":
            return "the org or the integration user has no API access: enable 'API Enabled' on the user's profile (Enterprise edition or above)"
        case "INVALID_FIELD":
            return "the field named in the message does not exist on this object or is not visible to the integration user: create it or fix the mapping and field-level security"
        case "INVALID_SESSION_ID":
            return "Salesforce refused a fresh token too: check that the user is active and the connected app's session policies"
        case "NOT_FOUND":
            return "check the object name, the record Id and the API version"
        case "JSON_PARSER_ERROR", "MALFORMED_QUERY":
            return "the request was malformed: this is a client bug, please report it"
        case "INSUFFICIENT_ACCESS", "INSUFFICIENT_ACCESS_OR_READONLY":
            return "the integration user lacks permission on this object or record"
        case "UNABLE_TO_LOCK_ROW":
            return "another process holds a lock on the records: retry later"
        default:
            switch status {
            case 500...599: return "Salesforce is unavailable or failed: retry later"
            case 404: return "check the object name, the record Id and the API version"
            default: return nil
            }
        }
    }

    /// The text between the first pair of single quotes (`No such column 'foo__c' on ...` -> `foo__c`).
    static func quotedName(in message: String) -> String? {
        guard let open = message.firstIndex(of: "'") else { return nil }
        let rest = message[message.index(after: open)...]
        guard let close = rest.firstIndex(of: "'"), close > rest.startIndex else { return nil }
        return String(rest[..<close])
    }

    /// What is said of a body that was not Salesforce JSON (an HTML error page, say). Its bytes
    /// are never quoted: the message reaches API callers, and the body could come from any host.
    static func snippet(of body: Data, status: Int) -> String {
        body.isEmpty
            ? "Salesforce answered HTTP \(status) without a body"
            : "Salesforce answered HTTP \(status) with \(body.count) bytes that are not a Salesforce JSON answer"
    }
}
