import AsyncHTTPClient
import NIOCore

/// Errors AsyncHTTPClient and NIO throw, for classification tests.
enum HTTPClientErrorFixtures {
    static let deadline: any Error = HTTPClientError.deadlineExceeded
    static let closed: any Error = HTTPClientError.remoteConnectionClosed
    static let tooManyBytes: any Error = NIOTooManyBytesError(maxBytes: 10)
}
