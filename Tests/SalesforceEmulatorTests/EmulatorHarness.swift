import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SalesforceEmulator
import SfdestTestSupport

/// One HTTP answer as a test sees it.
struct HTTPAnswer {
    let status: Int
    let headers: HTTPHeaders
    let body: Data

    /// The body parsed as JSON (nil when empty or not JSON).
    var json: Any? {
        self.body.isEmpty ? nil : try? JSONSerialization.jsonObject(with: self.body, options: [.fragmentsAllowed])
    }

    var object: [String: Any] { self.json as? [String: Any] ?? [:] }
    var array: [[String: Any]] { self.json as? [[String: Any]] ?? [] }

    /// The `errorCode` of a top-level Salesforce error array.
    var errorCode: String? { self.array.first?["errorCode"] as? String }

    var limitInfo: String? { self.headers.first(name: "Sforce-Limit-Info") }
}

/// A running emulator on an OS-picked port plus helpers to call it over real HTTP.
struct EmulatorHarness {
    static let apiVersion = "v66.0"
    let emulator: RunningEmulator
    let configuration: EmulatorConfiguration

    var baseURL: String { self.emulator.baseURL }

    /// Sends one request; `json` is serialized, `form` sent as form-urlencoded.
    func send(
        _ method: HTTPMethod, _ path: String, json: Any? = nil, form: String? = nil,
        headers: [(String, String)] = []
    ) async throws -> HTTPAnswer {
        var request = HTTPClientRequest(url: self.baseURL + path)
        request.method = method
        for (name, value) in headers {
            request.headers.add(name: name, value: value)
        }
        if let json {
            let data = try JSONSerialization.data(withJSONObject: json, options: [.fragmentsAllowed])
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: data))
        } else if let form {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: form))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 64 * 1024 * 1024)
        return HTTPAnswer(status: Int(response.status.code), headers: response.headers, body: Data(buffer: body))
    }

    /// The password-grant form with the configured credentials, fields overridable.
    func passwordForm(
        clientId: String? = nil, clientSecret: String? = nil, username: String? = nil, password: String? = nil
    ) -> String {
        func escape(_ text: String) -> String {
            text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
        }
        return [
            "grant_type=password",
            "client_id=" + escape(clientId ?? self.configuration.clientId),
            "client_secret=" + escape(clientSecret ?? self.configuration.clientSecret),
            "username=" + escape(username ?? self.configuration.username),
            "password=" + escape(password ?? self.configuration.password),
        ].joined(separator: "&")
    }

    func requestToken(form: String, headers: [(String, String)] = []) async throws -> HTTPAnswer {
        try await self.send(.POST, "/services/oauth2/token", form: form, headers: headers)
    }

    /// A fresh access token through the password grant.
    func accessToken() async throws -> String {
        let answer = try await self.requestToken(form: self.passwordForm())
        guard let token = answer.object["access_token"] as? String else {
            throw HarnessFailure("no token: \(String(decoding: answer.body, as: UTF8.self))")
        }
        return token
    }

    /// A REST call under `/services/data/v66.0` with a bearer token.
    func rest(_ method: HTTPMethod, _ path: String, json: Any? = nil, token: String?) async throws -> HTTPAnswer {
        let headers = token.map { [("Authorization", "Bearer \($0)")] } ?? []
        return try await self.send(method, "/services/data/\(Self.apiVersion)" + path, json: json, headers: headers)
    }

    func admin(_ method: HTTPMethod, _ path: String, json: Any? = nil) async throws -> HTTPAnswer {
        try await self.send(method, "/emulator" + path, json: json)
    }

    /// A record as the admin API shows it, every field included. Throws when the org has no such
    /// record, so a check that a value was not written never passes on a record that is gone.
    func record(_ id: String) async throws -> [String: Any] {
        let answer = try await self.admin(.GET, "/records/\(id)")
        guard answer.status == 200, let record = answer.json as? [String: Any] else {
            throw HarnessFailure("no record \(id): \(answer.status) \(String(decoding: answer.body, as: UTF8.self))")
        }
        return record
    }

    /// Creates records through the admin API and returns their Ids.
    func seed(_ type: String, _ records: [[String: Any]]) async throws -> [String] {
        let answer = try await self.admin(.POST, "/records", json: ["type": type, "records": records])
        return answer.object["ids"] as? [String] ?? []
    }

    func setFaults(_ faults: [String: Any]) async throws {
        let answer = try await self.admin(.POST, "/faults", json: faults)
        guard answer.status == 200 else {
            throw HarnessFailure("faults refused: \(String(decoding: answer.body, as: UTF8.self))")
        }
    }
}

/// Runs `body` against a fresh emulator on port 0 and stops it afterwards, whatever happens.
func withEmulator(
    contacts: Int = 0, leads: Int = 0,
    _ body: (EmulatorHarness) async throws -> Void
) async throws {
    let configuration = EmulatorConfiguration(port: 0, contacts: contacts, leads: leads)
    try await SalesforceEmulator.with(configuration) { emulator in
        try await body(EmulatorHarness(emulator: emulator, configuration: configuration))
    }
}

/// The one error of a collection result, or nil when it succeeded.
func firstError(_ result: [String: Any]) -> (statusCode: String, message: String, fields: [String])? {
    guard let errors = result["errors"] as? [[String: Any]], let error = errors.first else { return nil }
    return (error["statusCode"] as? String ?? "", error["message"] as? String ?? "", error["fields"] as? [String] ?? [])
}
