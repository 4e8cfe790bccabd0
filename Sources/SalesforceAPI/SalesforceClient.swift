import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// A client for one Salesforce connection (one org, one set of credentials).
///
/// Public surface:
/// - `init(configuration:httpClient:logger:) throws`: validates the login URL and API version (no I/O).
/// - `authenticate() async throws -> SalesforceSession`: asks for a fresh token now.
/// - `updateRecords(_:allOrNone:)`, `createRecords(_:allOrNone:)`,
///   `upsertRecords(_:objectType:externalIdField:allOrNone:)`: sObject Collections, at most
///   ``maxRecordsPerRequest`` records, one ``RecordResult`` per record in request order.
/// - `describe(_:)` (cached per object type; `invalidateDescribe(_:)`), `limits()`, `versions()`,
///   `record(_:id:)`.
/// - `apiUsage`: the latest `Sforce-Limit-Info` usage seen on this connection.
///
/// Tokens are cached per client and fetched single-flight. A call answered 401 gets one new token
/// and is sent once more. Every failure is a ``SalesforceError`` with a ``SalesforceError/Disposition``.
/// Secrets and tokens are never logged. The caller owns `httpClient` and shuts it down.
public final class SalesforceClient: Sendable {
    /// sObject Collections take at most this many records per request.
    public static let maxRecordsPerRequest = 200

    /// The validated login base URL (`https://acme.my.salesforce.com`).
    public let loginURL: String
    /// The API version used in paths (`v66.0`).
    public let apiVersion: String

    let transport: SalesforceTransport
    let tokens: TokenCache
    let describeCache = DescribeCache()
    let logger: Logger

    public init(configuration: SalesforceConnectionConfiguration, httpClient: HTTPClient, logger: Logger) throws {
        self.loginURL = try configuration.login.validatedURL(policy: configuration.hostPolicy)
        self.apiVersion = try configuration.normalizedAPIVersion()
        guard configuration.maxResponseBytes > 0, configuration.requestTimeout > .zero else {
            throw SalesforceError.configuration(
                code: "INVALID_CONFIGURATION", message: "requestTimeout and maxResponseBytes must be positive", hint: nil
            )
        }
        self.logger = logger
        self.transport = SalesforceTransport(
            httpClient: httpClient, timeout: configuration.requestTimeout,
            maxResponseBytes: configuration.maxResponseBytes, logger: logger
        )
        self.tokens = TokenCache(endpoint: OAuthTokenEndpoint(
            loginURL: self.loginURL, credentials: configuration.credentials, transport: self.transport,
            hostPolicy: configuration.hostPolicy
        ), sharing: configuration.sessionSharing)
    }

    /// The latest API usage Salesforce reported on this connection, nil before the first answer.
    public var apiUsage: APIUsage? {
        self.transport.latestUsage.withLockedValue { $0 }
    }

    /// Forgets the usage seen: another process read a newer one (the budget allows again), and
    /// the next answer brings the current figure.
    public func forgetUsage() {
        self.transport.latestUsage.withLockedValue { $0 = nil }
    }

    /// Asks for a new token now (joining one already being fetched) and caches it.
    /// Throws an `.authentication` error with Salesforce's `error`, `error_description` and a hint.
    @discardableResult
    public func authenticate() async throws -> SalesforceSession {
        try await self.tokens.refresh(replacing: self.tokens.cached())
    }

    /// The cached session, or a new one.
    public func session() async throws -> SalesforceSession {
        try await self.tokens.current()
    }

    /// `/services/data/{version}` + `suffix`.
    func dataPath(_ suffix: String) -> String {
        "/services/data/\(self.apiVersion)\(suffix)"
    }

    /// Sends an authorised REST call to the instance; on 401 fetches one new token and tries once
    /// more. Answers outside 2xx become a classified ``SalesforceError``.
    /// `contentType` is the body's type (JSON unless said otherwise: a Bulk upload is `text/csv`).
    /// `timeout`, when given, replaces the connection's request timeout for this call.
    func authorized(
        _ method: HTTPMethod, path: String, body: ByteBuffer? = nil, contentType: String = "application/json",
        timeout: TimeAmount? = nil
    ) async throws -> SalesforceTransport.Response {
        let label = "\(method) \(path)"
        let session = try await self.tokens.current()
        var answer = try await self.send(
            method, path: path, body: body, contentType: contentType, session: session, label: label, timeout: timeout
        )
        if answer.status == 401 {
            self.logger.debug("salesforce refused the session; fetching a new token", metadata: ["salesforce.request": "\(label)"])
            let fresh = try await self.tokens.refresh(replacing: session)
            answer = try await self.send(
                method, path: path, body: body, contentType: contentType, session: fresh, label: label, timeout: timeout
            )
        }
        guard (200..<300).contains(answer.status) else {
            throw SalesforceError.fromRESTResponse(status: answer.status, body: answer.body)
        }
        return answer
    }

    private func send(
        _ method: HTTPMethod, path: String, body: ByteBuffer?, contentType: String, session: SalesforceSession, label: String,
        timeout: TimeAmount?
    ) async throws -> SalesforceTransport.Response {
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Bearer \(session.accessToken)")
        headers.add(name: "Accept", value: "application/json")
        if body != nil { headers.add(name: "Content-Type", value: contentType) }
        return try await self.transport.send(
            method, url: session.instanceURL + path, headers: headers, body: body, label: label, peer: "the Salesforce instance",
            timeout: timeout
        )
    }

    /// Decodes a successful answer, or throws `INVALID_RESPONSE`.
    func decode<Answer: Decodable>(_ type: Answer.Type, from answer: SalesforceTransport.Response) throws -> Answer {
        do {
            return try JSONDecoder().decode(type, from: answer.body)
        } catch {
            throw SalesforceError.invalidResponse("could not read the answer as \(Answer.self): \(error)", httpStatus: answer.status)
        }
    }

    /// Checks an sObject or field API name before it goes into a URL path.
    static func checkAPIName(_ name: String, role: String) throws(SalesforceError) {
        let valid = !name.isEmpty && name.count <= 80
            && name.first.map { $0.isASCII && $0.isLetter } == true
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
        guard valid else {
            throw SalesforceError.invalidRequest(
                code: "INVALID_NAME", message: "\(role) '\(name)' is not a Salesforce API name",
                hint: "use the API name (letters, digits, underscores), e.g. Contact or crm_1_seg__c"
            )
        }
    }
}
