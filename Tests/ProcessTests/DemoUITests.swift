import AsyncHTTPClient
import Foundation
import SfdestTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `sfdest demo --ui` as a newcomer runs it: the demo, then the printed web UI address and key
/// open a populated destination in the UI, and Ctrl-C stops everything and removes the demo's data.
@Suite("sfdest demo --ui")
struct DemoUITests {
    @Test func theDemoKeepsRunningWithItsUIUntilInterrupted() async throws {
        let binary = try SfdestBinary.locate()
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-demo-ui-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: output) }
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        let process = Process()
        process.executableURL = binary
        process.arguments = ["demo", "--ui", "--profiles", "60", "--port", "0"]
        process.environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle
        try ProcessLaunch.run(process)
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        // run: wait for the address and the key
        func printed() -> String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }
        let deadline = Date().addingTimeInterval(180)
        while !printed().contains("Sign in with the API key:"), process.isRunning, Date() < deadline {
            try await Task.sleep(for: .milliseconds(200))
        }
        let text = printed()
        let url = try #require(Self.value(after: "Web UI: ", in: text), "no UI address printed:\n\(text.suffix(3000))")
        let key = try #require(Self.value(after: "Sign in with the API key: ", in: text))
        #expect(text.contains("OK: every record in the org holds exactly what was sent."))
        let dataDirectory = try #require(text.range(of: "(data dir ").map { String(text[$0.upperBound...].prefix { $0 != ")" }) })
        #expect(FileManager.default.fileExists(atPath: dataDirectory))

        // validate: the key opens the UI on the demo's destination
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        do {
            try await Self.signIn(http: http, url: url, key: key)
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()

        // Ctrl-C: a clean stop, the demo's data removed.
        kill(process.processIdentifier, SIGINT)
        let stopBy = Date().addingTimeInterval(60)
        while process.isRunning, Date() < stopBy { try await Task.sleep(for: .milliseconds(100)) }
        #expect(!process.isRunning, "still running 60 s after SIGINT")
        #expect(process.terminationStatus == 0, "\(printed().suffix(2000))")
        #expect(!FileManager.default.fileExists(atPath: dataDirectory), "the demo's data directory was left behind")
    }

    /// Signs in to the UI at `url` with `key` as a browser would and checks the demo's destination is there.
    static func signIn(http: HTTPClient, url: String, key: String) async throws {
        let base = String(url.dropLast("/ui/".count))
        let form = try await http.execute(HTTPClientRequest(url: base + "/ui/login"), timeout: .seconds(30))
        let formBody = String(decoding: try await form.body.collect(upTo: 1 << 20).readableBytesView, as: UTF8.self)
        let csrf = try #require(formBody.range(of: "name=\"csrf\" value=\"").map { String(formBody[$0.upperBound...].prefix { $0 != "\"" }) })
        let loginCookie = try #require(form.headers["Set-Cookie"].first?.split(separator: ";").first.map(String.init))
        var login = HTTPClientRequest(url: base + "/ui/login")
        login.method = .POST
        login.headers.add(name: "Cookie", value: loginCookie)
        login.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        let encodedKey = key.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? key
        login.body = .bytes(Array("csrf=\(csrf)&apiKey=\(encodedKey)".utf8))
        let signedIn = try await http.execute(login, timeout: .seconds(30))
        #expect(signedIn.status.code == 303)
        let session = try #require(signedIn.headers["Set-Cookie"].first { $0.hasPrefix("sfdest_session=") }?.split(separator: ";").first.map(String.init))
        var home = HTTPClientRequest(url: url)
        home.headers.add(name: "Cookie", value: session)
        let page = try await http.execute(home, timeout: .seconds(30))
        let body = String(decoding: try await page.body.collect(upTo: 4 << 20).readableBytesView, as: UTF8.self)
        #expect(page.status.code == 200)
        #expect(body.contains("Sales contacts") && body.contains("enabled"), "\(body.prefix(2000))")
    }

    static func value(after prefix: String, in text: String) -> String? {
        guard let range = text.range(of: prefix) else { return nil }
        return String(text[range.upperBound...].prefix { !$0.isNewline && $0 != " " })
    }
}
