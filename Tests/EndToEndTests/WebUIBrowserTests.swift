import EmulatorAdminClient
import Foundation
import SfdestClient
import SfdestTestSupport
import Testing

/// The web UI in a real browser: headless Chromium driven by `scripts/ui/browser_flow.py`
/// (selenium) against the real service and the emulator on loopback. The script clicks through
/// the whole flow, from an empty service to delivered records, and checks each page; this test
/// runs it, then checks the org and the API on its own. Screenshots of every page land in
/// `.build/test-output/web-ui/`.
///
/// Needs Debian's `chromium` and `chromium-driver` and `pip install selenium`
/// (`scripts/ui/requirements.txt`); `.ci/run` installs them. Without them the test is skipped,
/// except under CI (`CI` set), where it fails saying what is missing.
@Suite("Web UI in headless Chromium")
struct WebUIBrowserTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let chromedriver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let seleniumInstalled = (try? Self.runBlocking(["python3", "-c", "import selenium"], output: nil, timeout: 60)) == 0
    static let available = chromedriver != nil && seleniumInstalled
    static let requiredByCI = ProcessInfo.processInfo.environment["CI"] != nil

    @Test(.enabled(if: available || requiredByCI, "needs chromium, chromium-driver and selenium (scripts/ui/requirements.txt)"))
    func theWholeFlowInABrowserFromAnEmptyServiceToDeliveredRecords() async throws {
        try #require(
            Self.available,
            "CI must run the browser test: install chromium and chromium-driver (apt-get) and selenium (pip install -r scripts/ui/requirements.txt)"
        )
        let output = Self.repositoryRoot.appendingPathComponent(".build/test-output/web-ui")
        try? FileManager.default.removeItem(at: output)
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)

        try await ServiceHarness.with(contacts: 20, leads: 2, logLevel: .info) { service in
            // run: everything a person does, through the browser
            let script = Self.repositoryRoot.appendingPathComponent("scripts/ui/browser_flow.py").path
            let log = output.appendingPathComponent("browser_flow.log")
            let status = try await Self.run(
                ["python3", script, "--base-url", service.baseURL, "--api-key", service.apiKey, "--emulator-url", service.emulator.baseURL,
                 "--out", output.path, "--chromedriver", Self.chromedriver ?? "/usr/bin/chromedriver"],
                output: log, timeout: 900
            )
            let printed = (try? String(contentsOf: log, encoding: .utf8)) ?? ""

            // validate: the script's checks passed ...
            #expect(status == 0, "the browser flow failed (screenshots and failure.html in \(output.path)):\n\(printed.suffix(4000))")
            guard status == 0, let reportStart = printed.range(of: "\n{")?.lowerBound ?? printed.range(of: "{")?.lowerBound else { return }
            let report = try #require(
                try JSONSerialization.jsonObject(with: Data(printed[reportStart...].utf8)) as? [String: Any], "no JSON report: \(printed.suffix(2000))"
            )
            #expect(report["ok"] as? Bool == true)
            #expect((report["steps"] as? [String])?.count == 18, "steps: \(report["steps"] ?? "none")")
            let screenshots = report["screenshots"] as? [String] ?? []
            #expect(screenshots.count >= 16)
            for path in screenshots {
                let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
                #expect(size > 10_000, "screenshot \(path) is \(size) bytes")
            }

            // ... and the org holds what the browser set up, seen without the browser.
            let destinationId = try #require(report["destinationId"] as? String)
            let contactIds = report["contactIds"] as? [String] ?? []
            #expect(contactIds.count == 16)
            for (number, id) in contactIds.prefix(15).enumerated() {
                let record = try #require(try await service.admin.record(id), "Contact \(id)")
                #expect(record["LastName"] as? String == "Lovelace-\(number)", "\(id): \(record)")
                #expect(record["FirstName"] as? String == "Ada\(number)")
                #expect(record["crm_1_seg__c"] as? String == "realized")
            }
            let replayed = try #require(try await service.admin.record(contactIds[15]))
            #expect(replayed["Work_Email__c"] as? String == "ada at example", "the replayed record: \(replayed)")
            let destination = try await service.api.expect(200, .GET, "/v1/destinations/\(destinationId)").object
            #expect(destination["status"] as? String == "enabled", "the forged and the view-only requests left it enabled")
            let failures = try await service.api.expect(200, .GET, "/v1/destinations/\(destinationId)/failures").object
            let codes = (failures["groups"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
            #expect(codes == ["ID_OF_OTHER_OBJECT"], "after the replay only the Lead Id's exclusion is left: \(codes)")
            // Every change the browser made is in the audit log under the key that made it.
            let entries = try await service.api.expect(200, .GET, "/v1/audit?limit=100").array
            let actions = Set(entries.compactMap { $0["action"] as? String })
            for action in ["connection.create", "destination.create", "destination.mappings", "destination.segments", "destination.enable", "failures.retry", "key.create"] {
                #expect(actions.contains(action), "audit: \(actions.sorted())")
            }
            #expect(!actions.contains("destination.disable"), "neither the forged form nor the view-only key disabled anything")
        }
    }

    /// Runs a command with stdout and stderr into `output`, on a Dispatch thread (blocking the
    /// cooperative pool would starve the service), killing it after `timeout` seconds.
    static func run(_ arguments: [String], output: URL, timeout: TimeInterval) async throws -> Int32 {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try Self.runBlocking(arguments, output: output, timeout: timeout) })
            }
        }
    }

    static func runBlocking(_ arguments: [String], output: URL?, timeout: TimeInterval) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let output {
            _ = FileManager.default.createFile(atPath: output.path, contents: nil)
            let handle = try FileHandle(forWritingTo: output)
            process.standardOutput = handle
            process.standardError = handle
        } else {
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
        }
        try ProcessLaunch.run(process)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline {
                process.terminate()
                process.waitUntilExit()
                return -1
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return process.terminationStatus
    }
}
