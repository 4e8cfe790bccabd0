import Foundation
import Testing

@testable import SalesforceAPI

@Suite("Error classification from canned answers")
struct ErrorClassificationTests {
    private func rest(_ status: Int, _ json: String) -> SalesforceError {
        SalesforceError.fromRESTResponse(status: status, body: Data(json.utf8))
    }

    private func token(_ status: Int, _ json: String, grant: String = "password") -> SalesforceError {
        SalesforceError.fromTokenResponse(status: status, body: Data(json.utf8), grantType: grant)
    }

    @Test("top-level REST errors are read from the JSON array with their disposition", arguments: [
        (401, #"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#, "INVALID_SESSION_ID", SalesforceError.Disposition.reauthenticate),
        (403, #"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#, "REQUEST_LIMIT_EXCEEDED", .throttled),
        (403, #"[{"message":"The REST API is not enabled for this Organization.","errorCode":"API_DISABLED_FOR_ORG"}]"#, "API_DISABLED_FOR_ORG", .permanent),
        (400, #"[{"message":"Unexpected character","errorCode":"JSON_PARSER_ERROR"}]"#, "JSON_PARSER_ERROR", .permanent),
        (404, #"[{"message":"The requested resource does not exist","errorCode":"NOT_FOUND"}]"#, "NOT_FOUND", .permanent),
        (503, #"[{"message":"Server unavailable","errorCode":"SERVER_UNAVAILABLE"}]"#, "SERVER_UNAVAILABLE", .retryLater),
        (500, #"[{"message":"An unexpected error occurred","errorCode":"UNKNOWN_EXCEPTION"}]"#, "UNKNOWN_EXCEPTION", .retryLater),
        (502, "<html>Bad gateway</html>", "HTTP_502", .retryLater),
        (504, "", "HTTP_504", .retryLater),
        (400, #"[{"message":"unable to obtain exclusive access","errorCode":"UNABLE_TO_LOCK_ROW"}]"#, "UNABLE_TO_LOCK_ROW", .retryLater),
    ])
    func restErrors(status: Int, body: String, code: String, disposition: SalesforceError.Disposition) {
        let error = self.rest(status, body)
        #expect(error.code == code)
        #expect(error.disposition == disposition)
        #expect(error.httpStatus == status)
        #expect(error.kind == .api)
        #expect(!error.message.isEmpty)
    }

    @Test("INVALID_FIELD is permanent and names the field")
    func invalidField() {
        let error = self.rest(400, #"[{"message":"No such column 'foo__c' on sobject of type Contact","errorCode":"INVALID_FIELD"}]"#)
        #expect(error.disposition == .permanent)
        #expect(error.message.contains("foo__c"))
        #expect(error.fields == ["foo__c"])
        #expect(error.hint?.contains("mapping") == true)
        #expect(error.description.contains("INVALID_FIELD: No such column 'foo__c'"))
    }

    @Test("REQUEST_LIMIT_EXCEEDED has a back-off hint")
    func throttledHint() {
        let error = self.rest(403, #"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#)
        #expect(error.hint?.contains("wait") == true)
    }

    @Test("token errors carry error, error_description and an actionable hint", arguments: [
        (#"{"error":"invalid_grant","error_description":"ip restricted"}"#, "invalid_grant", "ip restricted", "Setup > Network Access"),
        (#"{"error":"invalid_client_id","error_description":"client identifier invalid"}"#, "invalid_client_id", "client identifier invalid", "Consumer Key"),
        (#"{"error":"invalid_client","error_description":"invalid client credentials"}"#, "invalid_client", "invalid client credentials", "Consumer Secret"),
        (#"{"error":"invalid_grant","error_description":"authentication failure"}"#, "invalid_grant", "authentication failure", "security token"),
        (#"{"error":"unsupported_grant_type","error_description":"grant type not supported"}"#, "unsupported_grant_type", "grant type not supported", "not enabled"),
    ])
    func tokenErrors(body: String, code: String, description: String, hintFragment: String) {
        let error = self.token(400, body)
        #expect(error.kind == .authentication)
        #expect(error.disposition == .permanent)
        #expect(error.code == code)
        #expect(error.message == description)
        #expect(error.httpStatus == 400)
        #expect(error.hint?.contains(hintFragment) == true, "\(error.hint ?? "no hint")")
    }

    @Test("the password-flow hint says new orgs block it and suggests client credentials")
    func passwordFlowHint() {
        let hint = self.token(400, #"{"error":"invalid_grant","error_description":"authentication failure"}"#).hint ?? ""
        #expect(hint.contains("username-password flow"))
        #expect(hint.contains("client credentials"))
        let clientCredentialsHint = self.token(
            400, #"{"error":"invalid_grant","error_description":"authentication failure"}"#, grant: "client_credentials"
        ).hint ?? ""
        #expect(clientCredentialsHint.contains("Run As"))
    }

    @Test("a concurrent token request answer is recognised for a retry")
    func alreadyProcessing() {
        let error = self.token(400, #"{"error":"invalid_grant","error_description":"token request is already being processed"}"#)
        #expect(error.isTokenRequestAlreadyProcessing)
        #expect(!self.token(400, #"{"error":"invalid_grant","error_description":"authentication failure"}"#).isTokenRequestAlreadyProcessing)
    }

    @Test("a token endpoint that is down is retryLater; a non-JSON 4xx is permanent")
    func tokenEndpointFailures() {
        #expect(self.token(503, "<html>maintenance</html>").disposition == .retryLater)
        #expect(self.token(404, "<html>not here</html>").disposition == .permanent)
        #expect(self.token(404, "<html>not here</html>").code == "HTTP_404")
    }

    @Test("per-record results decode in order and classify")
    func recordResults() throws {
        let json = #"""
        [{"id":"003xx000004TmiQAAS","success":true,"errors":[]},
         {"success":false,"errors":[{"statusCode":"MALFORMED_ID","message":"Contact ID: id value of incorrect type: 001xx000003DGb2999","fields":["Id"]}]},
         {"id":"003xx000004TmiRAAS","success":false,"errors":[{"statusCode":"UNABLE_TO_LOCK_ROW","message":"unable to obtain exclusive access to this record","fields":[]}]},
         {"id":"00Qxx0000001abcAAA","success":false,"errors":[{"statusCode":"CANNOT_UPDATE_CONVERTED_LEAD","message":"cannot reference converted lead","fields":[]}]},
         {"id":"003xx000004TmiSAAS","success":true,"created":true,"errors":[]},
         {"success":false,"errors":[{"statusCode":"ALL_OR_NONE_OPERATION_ROLLED_BACK","message":"Record rolled back because not all records were valid and the request was using AllOrNone header","fields":[]}]}]
        """#
        let results = try JSONDecoder().decode([RecordResult].self, from: Data(json.utf8))
        #expect(results.map(\.success) == [true, false, false, false, true, false])
        #expect(results.map(\.disposition) == [nil, .permanent, .retryLater, .permanent, nil, .retryLater])
        #expect(results[1].statusCode == "MALFORMED_ID")
        #expect(results[1].errors.first?.fields == ["Id"])
        #expect(results[1].id == nil)
        #expect(results[3].statusCode == "CANNOT_UPDATE_CONVERTED_LEAD")
        #expect(results[4].created == true)
        #expect(results[0].created == nil)
    }

    @Test("transport failures are retryLater; an oversized body is permanent")
    func transportFailures() {
        let timeout = SalesforceTransport.classifyTransportFailure(HTTPClientErrorFixtures.deadline, maxResponseBytes: 10) as? SalesforceError
        #expect(timeout?.code == "REQUEST_TIMEOUT")
        #expect(timeout?.disposition == .retryLater)
        let reset = SalesforceTransport.classifyTransportFailure(HTTPClientErrorFixtures.closed, maxResponseBytes: 10) as? SalesforceError
        #expect(reset?.code == "CONNECTION_FAILED")
        #expect(reset?.disposition == .retryLater)
        let tooLarge = SalesforceTransport.classifyTransportFailure(HTTPClientErrorFixtures.tooManyBytes, maxResponseBytes: 10) as? SalesforceError
        #expect(tooLarge?.code == "RESPONSE_TOO_LARGE")
        #expect(tooLarge?.disposition == .permanent)
        #expect(SalesforceTransport.classifyTransportFailure(CancellationError(), maxResponseBytes: 10) is CancellationError)
    }
}
