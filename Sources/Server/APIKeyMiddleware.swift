import Foundation
import Hummingbird

/// Lets a request through only with `Authorization: Bearer <key>` for one of the configured keys.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    private let keys: [[UInt8]]

    init(keys: [String]) {
        self.keys = keys.filter { !$0.isEmpty }.map { Array($0.utf8) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            throw Self.unauthorized("no API key: send the header Authorization: Bearer <api key>")
        }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw Self.unauthorized("the Authorization header must be Bearer <api key>")
        }
        let presented = Array(parts[1].trimmingCharacters(in: .whitespaces).utf8)
        // Every key is compared in full, so the time taken says nothing about which bytes matched.
        var accepted = false
        for key in self.keys {
            accepted = Self.constantTimeEquals(presented, key) || accepted
        }
        guard accepted else {
            throw Self.unauthorized("the API key is not valid: use a key configured for this service (SFDEST_API_KEY or the data dir's key)")
        }
        return try await next(request, context)
    }

    /// Equality whose duration depends only on the lengths, not on where the bytes differ.
    static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        var difference: UInt8 = lhs.count == rhs.count ? 0 : 1
        for index in 0..<max(lhs.count, rhs.count) {
            let left = index < lhs.count ? lhs[index] : 0
            let right = index < rhs.count ? rhs[index] : 0
            difference |= left ^ right
        }
        return difference == 0
    }

    private static func unauthorized(_ message: String) -> APIError {
        APIError(status: .unauthorized, code: "unauthorized", message: message, headers: [.wwwAuthenticate: "Bearer"])
    }
}
