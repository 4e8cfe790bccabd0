import SalesforceAPI

extension APIError {
    /// The answer for a Salesforce failure met while serving a request (logging in, describing).
    /// Refused credentials are the user's to fix (422); trouble reaching Salesforce is not (502).
    static func salesforce(_ error: SalesforceError, loginURL: String?) -> APIError {
        let hint = error.hint.map { " \($0)" } ?? ""
        switch (error.kind, error.disposition) {
        case (.transport, _):
            let place = loginURL.map { " at \($0)" } ?? ""
            return APIError(
                status: .badGateway, code: "salesforce_unreachable",
                message: "could not reach Salesforce\(place) (\(error.message)): check the custom domain or login URL and that this service can reach it, then try again"
            )
        case (.authentication, .retryLater), (.api, .retryLater):
            return APIError(
                status: .badGateway, code: "salesforce_unreachable",
                message: "Salesforce is unavailable (\(error.code): \(error.message)): try again shortly"
            )
        case (.authentication, _), (.api, .reauthenticate):
            let quoted = "error \"\(error.code)\", error_description \"\(error.message)\""
            return APIError(
                status: .unprocessableContent, code: "authentication_failed",
                message: "Salesforce refused the credentials (\(quoted)):\(hint)"
            )
        case (.configuration, _), (.invalidRequest, _):
            return APIError(status: .unprocessableContent, code: "invalid_request", message: ConnectionRequest.sentence(error))
        case (.api, .throttled):
            return APIError(
                status: .serviceUnavailable, code: "salesforce_api_limit",
                message: "the org's API request limit is used up (\(error.code): \(error.message)): try again when usage allows",
                headers: [.retryAfter: "60"]
            )
        case (.api, _), (.invalidResponse, _):
            return APIError(
                status: .badGateway, code: "salesforce_error",
                message: "Salesforce answered \(error.code): \(error.message).\(hint)"
            )
        }
    }
}
