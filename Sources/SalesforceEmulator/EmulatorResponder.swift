import Hummingbird
import NIOCore

/// Dispatches every request: the token endpoint, the REST API, and the admin API.
struct EmulatorResponder: HTTPResponder {
    typealias Context = EmulatorRequestContext

    let org: Org

    func respond(to request: Request, context: EmulatorRequestContext) async throws -> Response {
        let path = request.uri.path
        let segments = path.split(separator: "/")
        context.logger.debug("request", metadata: ["method": "\(request.method.rawValue)", "path": "\(path)"])
        if segments.count >= 2, segments[0] == "services", segments[1] == "data" {
            return try await RESTService(org: self.org)
                .respond(to: request, context: context, segments: Array(segments.dropFirst(2)))
        }
        if segments.count == 3, segments[0] == "services", segments[1] == "oauth2", segments[2] == "token" {
            do {
                return try await TokenEndpoint(org: self.org).respond(to: request)
            } catch is BodyTooLarge {
                return Reply.json(.contentTooLarge, OAuthFailure(error: "invalid_request", description: "body too large").json)
            }
        }
        if segments.first == "emulator" {
            guard Self.isLoopback(context.channel.remoteAddress) else {
                return Reply.failure(AdminFailure(
                    status: .forbidden, error: "forbidden", message: "the admin API answers loopback callers only"
                ))
            }
            return try await AdminService(org: self.org).respond(to: request, segments: Array(segments.dropFirst()))
        }
        return Reply.failure(.notFound)
    }

    /// Whether a peer is on this machine (127.0.0.0/8, ::1, or a Unix socket).
    static func isLoopback(_ address: SocketAddress?) -> Bool {
        guard let address else { return true }
        guard let ip = address.ipAddress else { return true }
        return ip.hasPrefix("127.") || ip == "::1" || ip.hasPrefix("::ffff:127.")
    }
}
