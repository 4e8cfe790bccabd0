import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SfdestClient

/// What the CLI views do against a running service, through its HTTP API: the executable only
/// parses arguments and prints what these return.
public struct MonitoringCLI: Sendable {
    /// A view of the service.
    public enum View: Sendable, Equatable {
        case destinations
        case runs(destinationId: String)
        case failures(destinationId: String)
        case audiences(destinationId: String)
    }

    /// The service answered something other than what the view needs; the message says what to do.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    public let client: ContractClient

    public init(client: ContractClient) {
        self.client = client
    }

    /// The view as a table, or as the API's JSON (pretty-printed, keys sorted) with `json`.
    public func render(_ view: View, json: Bool) async throws -> String {
        let answer = try await self.get(self.path(of: view))
        if json { return try Self.prettyJSON(answer) }
        switch view {
        case .destinations: return MonitoringTables.destinations(answer as? [[String: Any]] ?? [])
        case .runs: return MonitoringTables.runs(answer as? [[String: Any]] ?? [])
        case .failures: return MonitoringTables.failures(answer as? [String: Any] ?? [:])
        case .audiences: return MonitoringTables.audiences(answer as? [[String: Any]] ?? [])
        }
    }

    /// Queues failed records of a destination again: all of them, or those with one of `codes`
    /// or one of `recordIds` (both given: those matching both). Returns how many were re-queued.
    public func retryFailures(destinationId: String, codes: [String] = [], recordIds: [String] = []) async throws -> Int {
        var body: [String: Any] = [:]
        if !codes.isEmpty { body["codes"] = codes }
        if !recordIds.isEmpty { body["recordIds"] = recordIds }
        let answer = try await self.client.send(.POST, "/v1/destinations/\(Self.escaped(destinationId))/failures/retry", json: body)
        try Self.check(answer, "POST /v1/destinations/\(destinationId)/failures/retry")
        return answer.object["requeued"] as? Int ?? 0
    }

    func path(of view: View) -> String {
        switch view {
        case .destinations: return "/v1/destinations"
        case .runs(let id): return "/v1/destinations/\(Self.escaped(id))/runs"
        case .failures(let id): return "/v1/destinations/\(Self.escaped(id))/failures"
        case .audiences(let id): return "/v1/destinations/\(Self.escaped(id))/segments"
        }
    }

    private func get(_ path: String) async throws -> Any {
        let answer: ContractClient.Answer
        do {
            answer = try await self.client.send(.GET, path, timeout: .seconds(30))
        } catch {
            throw Failure("cannot reach the service at \(self.client.baseURL): \(error); is `sfdest serve` running there? (--url)")
        }
        try Self.check(answer, "GET \(path)")
        return answer.json ?? NSNull()
    }

    /// Turns a non-2xx answer into a message quoting the service's error.
    static func check(_ answer: ContractClient.Answer, _ call: String) throws {
        guard !(200..<300).contains(answer.status) else { return }
        let error = answer.object["error"] as? [String: Any]
        let message = error?["message"] as? String ?? "no details"
        switch answer.status {
        case 401: throw Failure("the service refused the API key (\(message)): set SFDEST_API_KEY or pass --api-key-file FILE")
        case 403: throw Failure("the API key may not do this (\(message))")
        default: throw Failure("\(call) answered \(answer.status): \(message)")
        }
    }

    static func prettyJSON(_ value: Any) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    static func escaped(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? segment
    }
}
