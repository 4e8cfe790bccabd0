import AsyncHTTPClient
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import SfdestBasics

/// One HTTP exchange with Salesforce: timeout, bounded body, the limit header, transport errors
/// classified. Knows nothing of tokens; never logs headers or bodies (they carry secrets).
struct SalesforceTransport: Sendable {
    /// A complete answer.
    struct Response: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: Data
    }

    let httpClient: HTTPClient
    let timeout: TimeAmount
    let maxResponseBytes: Int
    let logger: Logger
    /// The latest `api-usage` seen on any answer of this connection.
    let latestUsage: NIOLockedValueBox<APIUsage?>

    init(httpClient: HTTPClient, timeout: Duration, maxResponseBytes: Int, logger: Logger) {
        self.httpClient = httpClient
        self.timeout = .nanoseconds(timeout.inNanoseconds)
        self.maxResponseBytes = maxResponseBytes
        self.logger = logger
        self.latestUsage = NIOLockedValueBox(nil)
    }

    /// Sends one request and reads the whole answer. `label` names it in logs (no secrets);
    /// `peer` names the other side in the error a redirect becomes.
    /// `timeout` replaces the connection's for this exchange (Bulk uploads take longer).
    func send(
        _ method: HTTPMethod, url: String, headers: HTTPHeaders, body: ByteBuffer?, label: String, peer: String = "Salesforce",
        timeout: TimeAmount? = nil
    ) async throws -> Response {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers = headers
        if let body { request.body = .bytes(body) }
        let started = ContinuousClock.now
        let answer: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            // No logger for AsyncHTTPClient: its request logs must never risk carrying a token.
            answer = try await self.httpClient.execute(request, timeout: timeout ?? self.timeout, logger: nil)
            bytes = try await answer.body.collect(upTo: self.maxResponseBytes)
        } catch {
            let failure = Self.classifyTransportFailure(error, maxResponseBytes: self.maxResponseBytes)
            self.logger.debug("salesforce request failed", metadata: [
                "salesforce.request": "\(label)", "salesforce.error": "\((failure as? SalesforceError)?.code ?? "cancelled")",
            ])
            throw failure
        }
        if let info = answer.headers.first(name: "Sforce-Limit-Info"), let usage = APIUsage(limitInfo: info) {
            self.latestUsage.withLockedValue { $0 = usage }
        }
        self.logger.debug("salesforce request", metadata: [
            "salesforce.request": "\(label)",
            "salesforce.status": "\(answer.status.code)",
            "salesforce.duration": "\(ContinuousClock.now - started)",
        ])
        let status = Int(answer.status.code)
        if (300..<400).contains(status), status != 304 {
            throw Self.redirectRefused(status: status, location: answer.headers.first(name: "Location"), peer: peer)
        }
        return Response(status: status, headers: answer.headers, body: Data(bytes.readableBytesView))
    }

    /// The HTTP client never follows redirects (a redirect could resend credentials elsewhere, or
    /// turn the request into a GET to an internal service); a 3xx answer is this error instead.
    /// Only the target's host is named: its path or query may carry a token.
    static func redirectRefused(status: Int, location: String?, peer: String) -> SalesforceError {
        let host = location.flatMap { URLComponents(string: $0)?.host }.map { "\($0)" } ?? "an address it did not name"
        return SalesforceError(
            kind: .configuration, disposition: .permanent, code: "REDIRECT_REFUSED",
            message: "\(peer) answered with a redirect (HTTP \(status)) to \(host); sfdest does not follow redirects",
            httpStatus: status, hint: "give the final URL"
        )
    }

    /// Maps what AsyncHTTPClient and NIO throw onto the client's error, keeping cancellation as is.
    static func classifyTransportFailure(_ error: any Error, maxResponseBytes: Int) -> any Error {
        if error is CancellationError { return error }
        if error is NIOTooManyBytesError {
            return SalesforceError(
                kind: .invalidResponse, disposition: .permanent, code: "RESPONSE_TOO_LARGE",
                message: "the answer exceeded \(maxResponseBytes) bytes",
                hint: "raise the connection's maximum response size"
            )
        }
        if let http = error as? HTTPClientError {
            if http == .cancelled { return CancellationError() }
            let timeouts: [HTTPClientError] = [
                .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout,
                .tlsHandshakeTimeout, .getConnectionFromPoolTimeout,
            ]
            if timeouts.contains(http) {
                return SalesforceError(
                    kind: .transport, disposition: .retryLater, code: "REQUEST_TIMEOUT",
                    message: "Salesforce did not answer in time (\(http))", hint: "retry later"
                )
            }
            if [HTTPClientError.invalidURL, .emptyHost, .emptyScheme].contains(http) {
                return SalesforceError.configuration(code: "INVALID_LOGIN_URL", message: "\(http)", hint: nil)
            }
        }
        return SalesforceError(
            kind: .transport, disposition: .retryLater, code: "CONNECTION_FAILED",
            message: "the connection to Salesforce failed: \(error)", hint: "retry later; check the network if it persists"
        )
    }
}
