import Foundation
import SfdestTestSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing

/// `sfdest serve` refuses a listener it should not open, before opening anything, and says why.
@Suite("sfdest serve: TLS flags and the listener check")
struct ServeListenerTests {
    /// Runs `sfdest serve` with `arguments`; its exit status and standard error, or nil if it was
    /// still running after 15 s (then it is terminated).
    static func serve(_ arguments: [String]) async throws -> (status: Int32, stderr: String)? {
        let binary = try SfdestBinary.locate()
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-listener-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let process = Process()
        process.executableURL = binary
        process.arguments = ["serve", "--data-dir", dataDirectory, "--port", "0"] + arguments
        process.environment = ["SFDEST_API_KEY": "sfdest-listener-test-key-0123456789"]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try ProcessLaunch.run(process)
        let exited = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let deadline = Date().addingTimeInterval(15)
                while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
                if process.isRunning {
                    kill(process.processIdentifier, SIGKILL)
                    process.waitUntilExit()
                    continuation.resume(returning: false)
                } else {
                    continuation.resume(returning: true)
                }
            }
        }
        let stderr = exited ? String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) : ""
        return exited ? (process.terminationStatus, stderr) : nil
    }

    @Test("--tls-cert without --tls-key is refused")
    func certificateWithoutKey() async throws {
        let run = try #require(try await Self.serve(["--tls-cert", "/nonexistent/cert.pem"]), "sfdest serve kept running")
        #expect(run.status != 0)
        #expect(run.stderr.contains("--tls-key"), "\(run.stderr)")
    }

    @Test("--host 0.0.0.0 over plain HTTP is refused, saying to give TLS files or --insecure-http")
    func plainHTTPBeyondLoopback() async throws {
        let run = try #require(try await Self.serve(["--host", "0.0.0.0"]), "sfdest serve listened on 0.0.0.0 over plain HTTP")
        #expect(run.status != 0)
        #expect(run.stderr.contains("--insecure-http") && run.stderr.contains("--tls-cert"), "\(run.stderr)")
    }
}
