import Foundation
import Hummingbird
import Ingest
import Logging

/// `POST /v1/profiles`: streaming ingest. Answers 202 only once the accepted profiles are durable.
struct ProfileRoutes: Sendable {
    let services: SfdestServices
    let settings: ServerSettings
    let logger: Logger

    /// Content types that mean one JSON document per line.
    static let lineDelimitedTypes = ["application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines", "application/jsonlines"]

    func register(on group: RouterGroup<BasicRequestContext>) {
        group.post("profiles") { request, _ in try await self.ingest(request) }
    }

    func ingest(_ request: Request) async throws -> Response {
        let data = try await RequestJSON.collect(request, limit: self.settings.maxProfileBodyBytes)
        let mediaType = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        let ndjson = mediaType.map(Self.lineDelimitedTypes.contains) ?? false
        let body: ProfileBody
        do {
            body = try ProfileBody(data, ndjson: ndjson)
        } catch .tooManyItems(let limit) {
            throw APIError(status: .contentTooLarge, code: "payload_too_large", message: ProfileBody.Failure.tooManyItems(limit).description)
        } catch {
            throw APIError.malformedJSON(error.description)
        }
        var accepted = 0
        do {
            accepted = try await self.services.ingest.submit(body.profiles)
        } catch let error as IngestPipeline.Overloaded {
            throw APIError.unavailable(error.description)
        } catch let error as IngestPipeline.Stopped {
            throw APIError.unavailable(error.description)
        } catch {
            self.logger.error("profiles could not be stored", metadata: ["profiles": "\(body.profiles.count)", "error": "\(error)"])
            throw APIError.unavailable("the profiles could not be stored: retry shortly (the cause is in the service's log)")
        }
        let rejected = body.rejected.map { JSONValue(dictionaryLiteral: ("index", .int($0.index)), ("error", .string($0.error))) }
        return JSONValue(dictionaryLiteral: ("accepted", .int(accepted)), ("rejected", .array(rejected))).response(.accepted)
    }
}
