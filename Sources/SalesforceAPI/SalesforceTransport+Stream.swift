import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Answers too large to hold (Bulk result CSVs): the body goes to a consumer chunk by chunk.
extension SalesforceTransport {
    /// What is left of a streamed answer once its body was consumed: the status, and for an answer
    /// outside 2xx its body (bounded by `maxResponseBytes`), which was not given to the consumer.
    struct StreamedAnswer: Sendable {
        var status: Int
        var errorBody: Data
    }

    /// Sends one request; a 2xx answer's body goes to `consume` in chunks, at most `maxBodyBytes`
    /// in all (`RESPONSE_TOO_LARGE` past that).
    func stream(
        _ method: HTTPMethod, url: String, headers: HTTPHeaders, label: String, peer: String,
        maxBodyBytes: Int, timeout: TimeAmount, consume: (ByteBuffer) throws -> Void
    ) async throws -> StreamedAnswer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers = headers
        let started = ContinuousClock.now
        let answer: HTTPClientResponse
        do {
            answer = try await self.httpClient.execute(request, timeout: timeout, logger: nil)
        } catch {
            throw Self.classifyTransportFailure(error, maxResponseBytes: self.maxResponseBytes)
        }
        if let info = answer.headers.first(name: "Sforce-Limit-Info"), let usage = APIUsage(limitInfo: info) {
            self.latestUsage.withLockedValue { $0 = usage }
        }
        let status = Int(answer.status.code)
        if (300..<400).contains(status), status != 304 {
            throw Self.redirectRefused(status: status, location: answer.headers.first(name: "Location"), peer: peer)
        }
        guard (200..<300).contains(status) else {
            do {
                let bytes = try await answer.body.collect(upTo: self.maxResponseBytes)
                return StreamedAnswer(status: status, errorBody: Data(bytes.readableBytesView))
            } catch {
                throw Self.classifyTransportFailure(error, maxResponseBytes: self.maxResponseBytes)
            }
        }
        var received = 0
        do {
            for try await chunk in answer.body {
                received += chunk.readableBytes
                guard received <= maxBodyBytes else { throw NIOTooManyBytesError(maxBytes: maxBodyBytes) }
                try consume(chunk)
            }
        } catch let error as SalesforceError {
            throw error
        } catch {
            throw Self.classifyTransportFailure(error, maxResponseBytes: maxBodyBytes)
        }
        self.logger.debug("salesforce request", metadata: [
            "salesforce.request": "\(label)", "salesforce.status": "\(status)",
            "salesforce.bytes": "\(received)", "salesforce.duration": "\(ContinuousClock.now - started)",
        ])
        return StreamedAnswer(status: status, errorBody: Data())
    }
}
