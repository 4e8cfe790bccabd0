import Foundation
import Hummingbird
import Ingest
import Logging
import SfdestJSON
import Store

/// `POST /v1/profiles`: streaming ingest. Answers 202 only once the accepted profiles are durable;
/// when they cannot be kept now (queue full, disk full, database busy) 503 with `Retry-After`.
struct ProfileRoutes: Sendable {
    let services: SfdestServices
    let settings: ServerSettings
    let logger: Logger

    /// Content types that mean one JSON document per line.
    static let lineDelimitedTypes = ["application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines", "application/jsonlines"]

    func register(on group: RouterGroup<SfdestRequestContext>) {
        group.post("profiles") { request, _ in try await self.ingest(request) }
    }

    func ingest(_ request: Request) async throws -> Response {
        // Refused before the body is read when the queue is full or the service stops; a body read
        // is limited to maxProfileBodyBytes (413 past it) and to the server's body deadline.
        do {
            try await self.services.ingest.checkAdmission()
        } catch let error as IngestPipeline.Overloaded {
            throw APIError.unavailable(error.description)
        } catch let error as IngestPipeline.Stopped {
            throw APIError.unavailable(error.description)
        }
        let data = try await RequestJSON.collect(request, limit: self.settings.maxProfileBodyBytes)
        let mediaType = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        let ndjson = mediaType.map(Self.lineDelimitedTypes.contains) ?? false
        let body: ProfileBody
        do {
            body = try ProfileBody(data, ndjson: ndjson)
        } catch .tooManyItems(let limit) {
            throw APIError(status: .contentTooLarge, code: "payload_too_large", message: ProfileBody.Failure.tooManyItems(limit).description)
        } catch .tooDeep(let limit, let offset) {
            throw APIError.nestingTooDeep(ProfileBody.Failure.tooDeep(limit: limit, offset: offset).description)
        } catch {
            throw APIError.malformedJSON(error.description + (error == .empty ? "" : Self.contentTypeHint(mediaType)))
        }
        var accepted = 0
        do {
            accepted = try await self.services.ingest.submit(body.profiles)
        } catch let error as IngestPipeline.Overloaded {
            throw APIError.unavailable(error.description)
        } catch let error as IngestPipeline.Stopped {
            throw APIError.unavailable(error.description)
        } catch let error as StoreUnavailable {
            // Nothing of the body was kept: the client sends the same request again later.
            throw APIError.unavailable("the profiles were not stored: \(error.description)", retryAfterSeconds: 5)
        }
        self.services.metrics.profilesIngested(accepted)
        let rejected = body.rejected.map { JSON(dictionaryLiteral: ("index", .int($0.index)), ("error", .string($0.error))) }
        return JSON(dictionaryLiteral: ("accepted", .int(accepted)), ("rejected", .array(rejected))).response(.accepted)
    }

    /// When a body that is not JSON also came with a content type that is not JSON, say so.
    static func contentTypeHint(_ mediaType: String?) -> String {
        guard let mediaType, mediaType != "application/json", !mediaType.hasSuffix("+json"), !mediaType.hasSuffix("/json") else { return "" }
        return " (the Content-Type was \(mediaType); use application/json or application/x-ndjson)"
    }
}
