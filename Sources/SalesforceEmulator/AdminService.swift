import Hummingbird
import NIOCore
import SfdestJSON

/// Serves `/emulator/...`: seeding and inspecting records, custom fields, faults, sessions and stats.
/// No authentication: it answers loopback callers only.
struct AdminService: Sendable {
    let org: Org

    /// - Parameter segments: the path after `/emulator`.
    func respond(to request: Request, segments: [Substring]) async throws -> Response {
        do {
            return try await self.route(request, segments: segments)
        } catch let failure as AdminFailure {
            return Reply.failure(failure)
        } catch is BodyTooLarge {
            return Reply.failure(AdminFailure(status: .contentTooLarge, error: "too_large", message: "body too large"))
        }
    }

    private func route(_ request: Request, segments: [Substring]) async throws -> Response {
        let method = request.method
        let path = segments.map(String.init)
        switch (method, path.first ?? "", path.count) {
        case (.post, "records", 1):
            return try self.createRecords(try await Self.body(request))
        case (.get, "records", 1):
            let query = request.uri.queryParameters
            return try self.findRecords(type: query.get("type"), field: query.get("field"), value: query.get("value"))
        case (.get, "records", 2):
            return try self.readRecord(path[1])
        case (.delete, "records", 2):
            return try self.deleteRecord(path[1])
        case (.post, "records", 3) where path[2] == "convert":
            return try self.convertLead(path[1])
        case (.post, "fields", 1):
            return try self.addField(try await Self.body(request))
        case (.delete, "fields", 3):
            return try self.removeField(object: path[1], name: path[2])
        case (.get, "stats", 1):
            let usage = self.org.access.withLock { $0.usage }
            let inFlight = self.org.restCallsInFlight.withLock { $0 }
            return Reply.json(.ok, self.org.stats.withLock { $0.json(usage: usage, restCallsInFlight: inFlight) })
        case (.post, "stats", 2) where path[1] == "reset":
            self.org.stats.withLock { $0 = EmulatorStats() }
            return Reply.empty(.noContent)
        case (.get, "faults", 1):
            return Reply.json(.ok, self.org.access.withLock { $0.faults.json(usage: $0.usage) })
        case (.post, "faults", 1):
            return try self.updateFaults(try await Self.body(request))
        case (.get, "tokens", 1):
            let tokens = self.org.access.withLock { $0.issuedTokens }
            return Reply.json(.ok, .object([("tokens", .array(tokens.map(JSON.string)))]))
        case (.post, "sessions", 2) where path[1] == "expire":
            self.org.access.withLock { $0.expireSessions() }
            return Reply.empty(.noContent)
        case (.post, "credentials", 1):
            return try self.rotateCredentials(try await Self.body(request))
        case (_, "connected-app", _):
            return try await self.connectedApp(request, path: path)
        default:
            throw AdminFailure.notFound("no admin route \(method.rawValue) /emulator/\(segments.joined(separator: "/"))")
        }
    }

    private static func body(_ request: Request) async throws -> JSON {
        let buffer = try await request.collectedBody()
        do {
            return try JSON.parse(buffer.readableBytesView)
        } catch {
            throw AdminFailure.badRequest("body is not valid JSON: \(error.description)")
        }
    }

    // MARK: Faults, sessions, credentials

    private func updateFaults(_ body: JSON) throws(AdminFailure) -> Response {
        guard let patch = body.objectValue else { throw .badRequest("body must be a JSON object") }
        let answer = try self.org.access.withLock { access throws(AdminFailure) -> JSON in
            let (faults, usage) = try Faults.applying(patch, to: access.faults, usage: access.usage)
            access.faults = faults
            access.usage = usage
            return faults.json(usage: usage)
        }
        return Reply.json(.ok, answer)
    }

    /// Rotates credentials as an admin would after a leak: every session ends too.
    private func rotateCredentials(_ body: JSON) throws(AdminFailure) -> Response {
        guard let pairs = body.objectValue else { throw .badRequest("body must be a JSON object") }
        try self.org.access.withLock { access throws(AdminFailure) in
            var credentials = access.credentials
            for (key, value) in pairs {
                guard let text = value.stringValue else { throw .badRequest("'\(key)' must be a string") }
                switch key {
                case "password": credentials.password = text
                case "clientSecret": credentials.clientSecret = text
                case "clientId": credentials.clientId = text
                case "username": credentials.username = text
                default: throw .badRequest("unknown key '\(key)'; known: clientId, clientSecret, password, username")
                }
            }
            access.credentials = credentials
            access.expireSessions()
        }
        return Reply.empty(.noContent)
    }

    // MARK: The connected app (JWT bearer)

    /// `GET`/`POST /emulator/connected-app` (settings: `preAuthorized`, `audiences`),
    /// `PUT /emulator/connected-app/certificate` (the PEM certificate as the body) and
    /// `DELETE /emulator/connected-app/certificate`.
    private func connectedApp(_ request: Request, path: [String]) async throws -> Response {
        let baseURL = self.org.baseURL
        switch (request.method, path.count) {
        case (.get, 1):
            break
        case (.post, 1):
            let body = try await Self.body(request)
            guard let patch = body.objectValue else { throw AdminFailure.badRequest("body must be a JSON object") }
            try self.org.access.withLock { access throws(AdminFailure) in
                access.connectedApp = try access.connectedApp.applying(patch)
            }
        case (.put, 2) where path[1] == "certificate":
            let body = try await request.collectedBody()
            let key = try ConnectedApp.publicKey(certificatePEM: String(buffer: body))
            self.org.access.withLock { $0.connectedApp.certificateKey = key }
        case (.delete, 2) where path[1] == "certificate":
            self.org.access.withLock { $0.connectedApp.certificateKey = nil }
            return Reply.empty(.noContent)
        default:
            throw AdminFailure.notFound("no admin route \(request.method.rawValue) /emulator/\(path.joined(separator: "/"))")
        }
        return Reply.json(.ok, self.org.access.withLock { $0.connectedApp.json(baseURL: baseURL) })
    }

    // MARK: Fields

    private func addField(_ body: JSON) throws(AdminFailure) -> Response {
        let (object, field) = try CustomFieldRequest.field(from: body)
        try self.org.store.withLock { store throws(AdminFailure) in
            guard let schema = store.schema(named: object) else { throw .badRequest("unknown sObject type '\(object)'") }
            if schema.field(named: field.name) != nil {
                throw AdminFailure(
                    status: .conflict, error: "duplicate_field",
                    message: "\(schema.name) already has a field named \(field.name)"
                )
            }
            store.addField(field, to: schema.name)
        }
        return Reply.json(.created, field.describeJSON)
    }

    private func removeField(object: String, name: String) throws(AdminFailure) -> Response {
        try self.org.store.withLock { store throws(AdminFailure) in
            guard let schema = store.schema(named: object) else { throw .notFound("unknown sObject type '\(object)'") }
            guard let field = schema.field(named: name) else { throw .notFound("\(schema.name) has no field \(name)") }
            guard field.custom else { throw .badRequest("\(field.name) is a standard field and can't be deleted") }
            _ = store.removeField(named: field.name, from: schema.name)
        }
        return Reply.empty(.noContent)
    }
}
