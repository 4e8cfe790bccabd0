import AsyncHTTPClient
import ServiceLifecycle

/// The process's one outbound HTTP client, as a service: it lives until graceful shutdown and is
/// shut down last (it is the first service of the group).
struct HTTPClientService: Service {
    let client: HTTPClient

    /// A client for Salesforce: a refused or unreachable host fails the request at once (after a
    /// 10 s connect timeout) instead of being retried until the request deadline. It follows no
    /// redirect: a 307/308 would resend the token form (credentials) to wherever it points, a 303
    /// would turn it into a GET to any address, and https could turn into http. A 3xx answer
    /// comes back to the caller, which reports it. Up to 32 connections per host: delivery keeps as
    /// many as 25 requests in flight to one org (`maxConcurrentRequests`), beside token, describe
    /// and Bulk API calls; AsyncHTTPClient's default of 8 would queue the rest inside the client.
    static func makeClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 32
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(10)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func run() async throws {
        try? await gracefulShutdown()
        try await self.client.shutdown()
    }
}
