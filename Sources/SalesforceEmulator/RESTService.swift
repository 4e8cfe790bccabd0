import Foundation
import Hummingbird
import NIOCore
import SfdestJSON

/// Serves `/services/data/...`: versions, auth, the API allowance and faults, then the resources.
struct RESTService: Sendable {
    let org: Org

    /// - Parameter segments: the path after `/services/data`.
    func respond(to request: Request, context: EmulatorRequestContext, segments: [Substring]) async throws -> Response {
        guard let versionSegment = segments.first else {
            guard request.method == .get else { return Reply.failure(Self.methodNotAllowed(request.method, allowed: "GET,HEAD")) }
            return Reply.json(.ok, APIVersions.listing)
        }
        guard let major = APIVersions.served(versionSegment) else {
            return Reply.failure(.notFound)
        }
        let resource = Array(segments.dropFirst())
        let token = Self.bearerToken(request.headers[.authorization])
        let admission = self.org.access.withLock { $0.admit(token: token, now: .now) }
        self.org.record(admission)
        self.org.restCallsInFlight.withLock { $0 += 1 }
        defer { self.org.restCallsInFlight.withLock { $0 -= 1 } }
        // A collection write is read at once, so its records count as in flight for the whole
        // call, delays included (the overlap log of `/emulator/stats`).
        var preread: ByteBuffer?
        var writing: [String] = []
        if case .serve = admission.verdict, let keyField = Self.collectionWriteKey(request.method, resource) {
            do {
                let body = try await request.collectedBody()
                preread = body
                writing = Self.recordKeys(body, field: keyField)
            } catch is BodyTooLarge {
                return Reply.failure(
                    RESTFailure(status: .contentTooLarge, errorCode: "REQUEST_ENTITY_TOO_LARGE", message: "Request body exceeds \(Request.maximumBodyBytes) bytes"),
                    headers: Reply.limitHeaders(admission.usage)
                )
            }
        }
        self.org.beginWrites(writing)
        defer { self.org.endWrites(writing) }
        if admission.delayMilliseconds > 0 {
            try await Task.sleep(for: .milliseconds(admission.delayMilliseconds))
        }
        while self.org.access.withLock({ $0.faults.holdRestCalls }) {
            try await Task.sleep(for: .milliseconds(5))
        }
        if admission.isAuthenticated {
            self.org.recordCall(endpoint: Self.endpointKey(request.method, resource))
        }
        let headers = Reply.limitHeaders(admission.usage)
        switch admission.verdict {
        case .invalidSession:
            // Not an authenticated call: neither counted nor given a limit header.
            return Reply.failure(.invalidSession)
        case .dropConnection:
            try? await context.channel.close()
            throw ConnectionDropped()
        case .serverUnavailable:
            return Reply.failure(.serverUnavailable, headers: headers)
        case .limitExceeded:
            return Reply.failure(.requestLimitExceeded, headers: headers)
        case .serve(let lockRowRate):
            do {
                var response = try await self.route(
                    request, resource: resource, major: major, usage: admission.usage, lockRowRate: lockRowRate, preread: preread
                )
                response.headers[Reply.sforceLimitInfo] = headers[Reply.sforceLimitInfo]
                return response
            } catch let failure as RESTFailure {
                return Reply.failure(failure, headers: headers)
            } catch is BodyTooLarge {
                let failure = RESTFailure(
                    status: .contentTooLarge, errorCode: "REQUEST_ENTITY_TOO_LARGE",
                    message: "Request body exceeds \(Request.maximumBodyBytes) bytes"
                )
                return Reply.failure(failure, headers: headers)
            }
        }
    }

    private func route(
        _ request: Request, resource: [Substring], major: Int, usage: APIUsage, lockRowRate: Double, preread: ByteBuffer?
    ) async throws -> Response {
        let method = request.method
        switch resource.count {
        case 0:
            try Self.require(method, .get)
            return Reply.json(.ok, Self.versionResources(major))
        case 1 where resource[0] == "limits":
            try Self.require(method, .get)
            return Reply.json(.ok, Self.limits(usage, bulk: self.bulkAllowance()))
        case 2... where resource[0] == "jobs" && resource[1] == "ingest":
            return try await self.bulkIngest(request, rest: resource[2...], major: major)
        case 1 where resource[0] == "sobjects":
            try Self.require(method, .get)
            return Reply.json(.ok, self.globalDescribe(major))
        case 2 where resource[0] == "sobjects":
            try Self.require(method, .get)
            return Reply.json(.ok, try self.objectInfo(String(resource[1]), major: major))
        case 3 where resource[0] == "sobjects" && resource[2] == "describe":
            try Self.require(method, .get)
            return Reply.json(.ok, try self.describe(String(resource[1])))
        case 3 where resource[0] == "sobjects":
            try Self.require(method, .get)
            let fields = request.uri.queryParameters.get("fields")
            return Reply.json(.ok, try self.readRecord(String(resource[1]), id: String(resource[2]), fields: fields, major: major))
        case 2 where resource[0] == "composite" && resource[1] == "sobjects":
            let operation: CollectionOperation
            switch method {
            case .patch: operation = .update
            case .post: operation = .create
            default: throw Self.methodNotAllowed(method, allowed: "PATCH,POST,DELETE")
            }
            let body = try await Self.body(of: request, preread: preread)
            return Reply.json(.ok, try self.writeCollection(operation, object: nil, body: body, lockRowRate: lockRowRate))
        case 3 where resource[0] == "composite" && resource[1] == "sobjects":
            let schema = try self.schema(String(resource[2]))
            return Reply.json(.ok, try await self.retrieveCollection(request, object: schema, major: major))
        case 4 where resource[0] == "composite" && resource[1] == "sobjects":
            try Self.require(method, .patch)
            let schema = try self.schema(String(resource[2]))
            let externalField = try Self.externalIdField(String(resource[3]), of: schema)
            let body = try await Self.body(of: request, preread: preread)
            let answer = try self.writeCollection(
                .upsert(externalField: externalField), object: schema, body: body, lockRowRate: lockRowRate
            )
            return Reply.json(.ok, answer)
        default:
            throw RESTFailure.notFound
        }
    }

    // MARK: Request parts

    /// The body read already, or now.
    static func body(of request: Request, preread: ByteBuffer?) async throws -> ByteBuffer {
        if let preread { return preread }
        return try await request.collectedBody()
    }

    /// For a collection update or upsert, the field that names each record (`Id`, or the
    /// upsert's external Id field); nil for every other call (a create names no existing record).
    static func collectionWriteKey(_ method: HTTPRequest.Method, _ resource: [Substring]) -> String? {
        guard resource.count >= 2, resource[0] == "composite", resource[1] == "sobjects" else { return nil }
        if resource.count == 2, method == .patch { return "Id" }
        if resource.count == 4, method == .patch { return String(resource[3]) }
        return nil
    }

    /// The records a collection body names, as `Object/key` (a body that does not parse names none:
    /// the write itself answers it).
    static func recordKeys(_ body: ByteBuffer, field: String) -> [String] {
        guard let document = try? JSON.parse(body.readableBytesView), let records = document["records"]?.arrayValue else { return [] }
        var keys: [String] = []
        for record in records {
            guard let value = record[field]?.stringValue else { continue }
            // An Id names the record whatever its length (15 or 18 characters).
            keys.append(field == "Id" ? String(value.prefix(15)) : "\(field)=\(value)")
        }
        return Array(Set(keys))
    }

    /// The access token of an `Authorization: Bearer ...` header (Salesforce also accepts `OAuth ...`).
    static func bearerToken(_ header: String?) -> String? {
        guard let header else { return nil }
        for scheme in ["Bearer ", "OAuth "] where header.hasPrefix(scheme) {
            let token = header.dropFirst(scheme.count).trimmingCharacters(in: .whitespaces)
            return token.isEmpty ? nil : token
        }
        return nil
    }

    /// The stats key of a call: "METHOD /resource/path", record and job Ids replaced by `{id}`.
    static func endpointKey(_ method: HTTPRequest.Method, _ resource: [Substring]) -> String {
        var parts = resource.map(String.init)
        if parts.count == 3, parts[0] == "sobjects", parts[2] != "describe" {
            parts[2] = "{id}"
        }
        if parts.count >= 3, parts[0] == "jobs", parts[1] == "ingest" {
            parts[2] = "{id}"
        }
        return "\(method.rawValue) /" + parts.joined(separator: "/")
    }

    private static func require(_ method: HTTPRequest.Method, _ allowed: HTTPRequest.Method) throws(RESTFailure) {
        guard method == allowed || (allowed == .get && method == .head) else {
            throw Self.methodNotAllowed(method, allowed: allowed == .get ? "GET,HEAD" : allowed.rawValue)
        }
    }

    private static func methodNotAllowed(_ method: HTTPRequest.Method, allowed: String) -> RESTFailure {
        RESTFailure(
            status: .methodNotAllowed, errorCode: "METHOD_NOT_ALLOWED",
            message: "HTTP Method '\(method.rawValue)' not allowed. Allowed are \(allowed)"
        )
    }
}

/// Thrown after the `dropConnectionRate` fault closed the connection, so nothing is answered.
struct ConnectionDropped: Error {}
