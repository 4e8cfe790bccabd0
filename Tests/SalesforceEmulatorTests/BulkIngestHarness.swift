import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SfdestTestSupport
import Testing

/// Bulk API 2.0 helpers over real HTTP: raw CSV uploads, running a job to its end, reading results.
extension EmulatorHarness {
    /// A request with a raw body (`text/csv` unless said otherwise) under `/services/data/v66.0`.
    func restRaw(
        _ method: HTTPMethod, _ path: String, body: String, contentType: String = "text/csv", token: String
    ) async throws -> HTTPAnswer {
        var request = HTTPClientRequest(url: self.baseURL + "/services/data/\(Self.apiVersion)" + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: contentType)
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 256 * 1024 * 1024)
        return HTTPAnswer(status: Int(response.status.code), headers: response.headers, body: Data(buffer: bytes))
    }

    /// Creates a job; throws unless the org answered 200.
    func createJob(_ object: String, _ operation: String, token: String, extra: [String: Any] = [:]) async throws -> [String: Any] {
        var body: [String: Any] = ["object": object, "operation": operation, "contentType": "CSV", "lineEnding": "LF"]
        body.merge(extra) { _, new in new }
        let answer = try await self.rest(.POST, "/jobs/ingest", json: body, token: token)
        guard answer.status == 200 else {
            throw HarnessFailure("create job answered \(answer.status): \(String(decoding: answer.body, as: UTF8.self))")
        }
        return answer.object
    }

    /// Creates, uploads, closes and polls a job to its end state; answers its id and final JobInfo.
    func runJob(
        _ object: String, _ operation: String, csv: String, token: String, extra: [String: Any] = [:]
    ) async throws -> (id: String, info: [String: Any]) {
        let created = try await self.createJob(object, operation, token: token, extra: extra)
        let id = try #require(created["id"] as? String)
        let upload = try await self.restRaw(.PUT, "/jobs/ingest/\(id)/batches", body: csv, token: token)
        guard upload.status == 201 else {
            throw HarnessFailure("upload answered \(upload.status): \(String(decoding: upload.body, as: UTF8.self))")
        }
        let closed = try await self.rest(.PATCH, "/jobs/ingest/\(id)", json: ["state": "UploadComplete"], token: token)
        guard closed.status == 200 else { throw HarnessFailure("close answered \(closed.status)") }
        return (id, try await self.waitForJob(id, token: token))
    }

    /// Polls a job until it is JobComplete, Failed or Aborted (at most 60 s).
    func waitForJob(_ id: String, token: String, until states: Set<String> = ["JobComplete", "Failed", "Aborted"]) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let info = try await self.rest(.GET, "/jobs/ingest/\(id)", token: token).object
            if let state = info["state"] as? String, states.contains(state) { return info }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw HarnessFailure("job \(id) did not reach \(states.sorted()) in time")
    }

    /// One result set as rows of cells by column name, in the order the org answered them.
    func results(_ id: String, _ kind: String, token: String) async throws -> (header: [String], rows: [[String: String]]) {
        let answer = try await self.rest(.GET, "/jobs/ingest/\(id)/\(kind)/", token: token)
        guard answer.status == 200 else { throw HarnessFailure("\(kind) answered \(answer.status)") }
        #expect(answer.headers.first(name: "Content-Type")?.hasPrefix("text/csv") == true)
        let table = TestCSV.parse(String(decoding: answer.body, as: UTF8.self))
        guard let header = table.first else { return ([], []) }
        let rows = table.dropFirst().map { cells in
            Dictionary(uniqueKeysWithValues: zip(header, cells))
        }
        return (header, rows)
    }
}

/// A small RFC 4180 reader for the tests' own checks (LF or CRLF, quoted cells).
enum TestCSV {
    static func parse(_ text: String, delimiter: Character = ",") -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var cell = ""
        var quoted = false
        var characters = Array(text)[...]
        while let character = characters.popFirst() {
            if quoted {
                if character == "\"" {
                    if characters.first == "\"" {
                        cell.append("\"")
                        characters.removeFirst()
                    } else {
                        quoted = false
                    }
                } else {
                    cell.append(character)
                }
            } else if character == "\"" {
                quoted = true
            } else if character == delimiter {
                row.append(cell)
                cell = ""
            } else if character == "\n" || character == "\r\n" {
                row.append(cell)
                rows.append(row)
                row = []
                cell = ""
            } else {
                cell.append(character)
            }
        }
        if !cell.isEmpty || !row.isEmpty {
            row.append(cell)
            rows.append(row)
        }
        return rows
    }
}
