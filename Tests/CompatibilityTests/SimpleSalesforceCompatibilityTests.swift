import EmulatorAdminClient
import Foundation
import SalesforceEmulator
import SfdestTestSupport
import Testing

/// The emulator against an independent reading of Salesforce's API: the Python library
/// simple-salesforce, unmodified, over real loopback sockets (`scripts/compat/`).
@Suite("simple-salesforce against the emulator")
struct SimpleSalesforceCompatibilityTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func passwordLoginCollectionsUpdateUsageAndLimits() async throws {
        // setup
        try await SalesforceEmulator.with(EmulatorConfiguration(port: 0, contacts: 3)) { emulator in
            try await Self.check(emulator)
        }
    }

    static func check(_ emulator: RunningEmulator) async throws {
        let admin = EmulatorAdminClient(baseURL: emulator.baseURL)
        try await admin.addLongTextAreaFields(["crm_1_seg__c"], to: ["Contact"])
        let contactId = try #require(emulator.seededContactIds.first)

        // run
        let run = try await Self.runPython(
            script: "scripts/compat/simple_salesforce_check.py",
            arguments: ["--base-url", emulator.baseURL, "--contact-id", contactId]
        )

        // validate: the script's own checks passed, and the org saw exactly those calls
        #expect(run.status == 0, "simple-salesforce check failed:\n\(run.stderr)\n\(run.stdout)")
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any],
            "the script printed no JSON report: \(run.stdout) \(run.stderr)"
        )
        let record = try #require(try await admin.record(contactId))
        #expect(record["FirstName"] as? String == "Grace")
        #expect(record["LastName"] as? String == "Hopper")
        #expect(record["crm_1_seg__c"] as? String == "realized")
        let stats = try await admin.stats()
        #expect(stats.tokenRequests == 2)
        #expect(stats.tokensIssued == 1)
        #expect(stats.callsByEndpoint["PATCH /composite/sobjects"] == 1)
        #expect(stats.callsByEndpoint["GET /limits"] == 1 || stats.callsByEndpoint["GET /limits/"] == 1)
        let usage = try #require(report["apiUsage"] as? [String: Int])
        #expect(usage["total"] == stats.apiMax)
        #expect((usage["used"] ?? 0) >= 1)
        let requests = report["requests"] as? [String] ?? []
        #expect(requests.first == "POST emulator-dev-ed.my.salesforce.com/services/oauth2/token")
        #expect(requests.contains { $0.hasPrefix("PATCH ") && $0.hasSuffix("/services/data/v66.0/composite/sobjects") })
    }

    struct ProcessRun {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs a Python script of the repository with python3 from PATH and collects its output.
    /// The wait happens on a Dispatch thread: blocking the cooperative pool would starve the emulator.
    static func runPython(script: String, arguments: [String]) async throws -> ProcessRun {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try Self.runPythonBlocking(script: script, arguments: arguments) })
            }
        }
    }

    static func runPythonBlocking(script: String, arguments: [String]) throws -> ProcessRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.repositoryRoot.appendingPathComponent(script).path] + arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try ProcessLaunch.run(process)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ProcessRun(
            status: process.terminationStatus,
            stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self)
        )
    }

    /// simple-salesforce's JWT bearer login (PyJWT signs; `aud` https://login.salesforce.com, which
    /// the emulator's admin accepts; `exp` a string of seconds) against the connected app's certificate.
    @Test func jwtBearerLogin() async throws {
        let keys = try JWTTestKeys.shared()
        let keyFile = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-compat-jwt-\(UUID().uuidString).pem")
        try Data(keys.privateKeyPem.utf8).write(to: keyFile)
        defer { try? FileManager.default.removeItem(at: keyFile) }
        try await SalesforceEmulator.with(EmulatorConfiguration(port: 0, jwtCertificatePem: keys.certificatePem)) { emulator in
            let admin = EmulatorAdminClient(baseURL: emulator.baseURL)
            try await admin.setConnectedApp(audiences: ["https://login.salesforce.com"])
            let run = try await Self.runPython(
                script: "scripts/compat/simple_salesforce_check.py",
                arguments: ["--base-url", emulator.baseURL, "--jwt-private-key", keyFile.path]
            )
            #expect(run.status == 0, "simple-salesforce JWT check failed:\n\(run.stderr)\n\(run.stdout)")
            let report = try #require(
                try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any],
                "the script printed no JSON report: \(run.stdout) \(run.stderr)"
            )
            #expect(report["sessionId"] as? Bool == true)
            let stats = try await admin.stats()
            #expect(stats.tokenRequests == 2)
            #expect(stats.tokensIssued == 1)
            #expect(stats.callsByEndpoint["GET /limits"] == 1 || stats.callsByEndpoint["GET /limits/"] == 1)
        }
    }
}
