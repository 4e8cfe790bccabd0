import AsyncHTTPClient
import Foundation
import HummingbirdTLS
import Logging
import NIOCore
import SfdestRuntime
import SfdestTestSupport
import Testing

/// HTTPS of the API and the runtime's refusal of plain HTTP beyond loopback: a real server on
/// loopback with a certificate made for the test by `openssl`.
@Suite("TLS and the listener check")
struct TLSTests {
    /// A fresh directory with `cert.pem`/`key.pem` (127.0.0.1 and localhost) and `other-key.pem`.
    final class Files: @unchecked Sendable {
        let directory: URL
        var certificate: String { self.directory.appendingPathComponent("cert.pem").path }
        var key: String { self.directory.appendingPathComponent("key.pem").path }
        var otherKey: String { self.directory.appendingPathComponent("other-key.pem").path }
        var dataDirectory: String { self.directory.appendingPathComponent("data").path }

        init() throws {
            self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-tls-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
            try Self.openssl([
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout", self.key, "-out", self.certificate,
            ])
            try Self.openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", self.otherKey])
        }

        deinit { try? FileManager.default.removeItem(at: self.directory) }

        static func openssl(_ arguments: [String]) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["openssl"] + arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try ProcessLaunch.run(process)
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw TLSTestFailure("openssl \(arguments.joined(separator: " ")) failed") }
        }

        func settings() -> SfdestRuntime.Settings {
            var settings = SfdestRuntime.Settings(dataDirectory: self.dataDirectory)
            settings.port = 0
            settings.environment = ["SFDEST_API_KEY": "sfdest-tls-test-key-0123456789-abcdef"]
            return settings
        }
    }

    /// Runs the runtime until `body` returns, then shuts it down; `body` gets the bound port.
    static func running(_ runtime: SfdestRuntime, _ body: @Sendable (Int) async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
            group.addTask {
                defer { continuation.finish() }
                try await runtime.run(gracefulShutdownSignals: []) { continuation.yield($0) }
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else {
                try await group.waitForAll()
                throw TLSTestFailure("the runtime did not start")
            }
            do {
                try await body(port)
            } catch {
                await runtime.shutdown()
                throw error
            }
            await runtime.shutdown()
            try await group.waitForAll()
        }
    }

    @Test("with --tls-cert and --tls-key the API answers over HTTPS, and plain HTTP to its port fails")
    func servesHTTPS() async throws {
        let files = try Files()
        var settings = files.settings()
        settings.tlsCertificateFile = files.certificate
        settings.tlsKeyFile = files.key
        let runtime = try SfdestRuntime(settings: settings, logger: Logger(label: "sfdest.tls-test"))
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(files.certificate))
        let https = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        let plain = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await Self.running(runtime) { port in
                let response = try await https.execute(HTTPClientRequest(url: "https://127.0.0.1:\(port)/health"), timeout: .seconds(10))
                #expect(response.status.code == 200)
                let body = try await response.body.collect(upTo: 1 << 16)
                #expect(String(buffer: body).contains("ok"))
                await #expect(throws: (any Error).self) {
                    _ = try await plain.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/health"), timeout: .seconds(5))
                }
            }
        } catch {
            try await https.shutdown()
            try await plain.shutdown()
            throw error
        }
        try await https.shutdown()
        try await plain.shutdown()
    }

    @Test("plain HTTP on 0.0.0.0 is refused with what to do; with insecureHTTP the runtime starts")
    func nonLoopbackNeedsTLS() async throws {
        let files = try Files()
        var settings = files.settings()
        settings.host = "0.0.0.0"
        let refusal = #expect(throws: ListenerRefusal.self) {
            _ = try SfdestRuntime(settings: settings, logger: Logger(label: "sfdest.tls-test"))
        }
        let message = refusal?.description ?? ""
        #expect(message.contains("0.0.0.0") && message.contains("--tls-cert") && message.contains("--insecure-http"), "\(message)")
        // Nothing was created for a refused listener.
        #expect(!FileManager.default.fileExists(atPath: files.dataDirectory))
        settings.insecureHTTP = true
        let runtime = try SfdestRuntime(settings: settings, logger: Logger(label: "sfdest.tls-test"))
        try await Self.running(runtime) { port in #expect(port > 0) }
    }

    @Test("loopback addresses need no TLS", arguments: ["127.0.0.1", "localhost", "::1"])
    func loopbackIsAllowed(host: String) async throws {
        let files = try Files()
        var settings = files.settings()
        settings.host = host
        let runtime = try SfdestRuntime(settings: settings, logger: Logger(label: "sfdest.tls-test"))
        try await runtime.services.httpClient.shutdown()
    }

    @Test("a certificate without its key (or a key without a certificate) is refused")
    func certificateNeedsKey() throws {
        let files = try Files()
        var settings = files.settings()
        settings.tlsCertificateFile = files.certificate
        let refusal = #expect(throws: ListenerRefusal.self) {
            _ = try SfdestRuntime(settings: settings, logger: Logger(label: "sfdest.tls-test"))
        }
        #expect(refusal?.description.contains("--tls-key") == true, "\(refusal?.description ?? "")")
        settings.tlsCertificateFile = nil
        settings.tlsKeyFile = files.key
        let other = #expect(throws: ListenerRefusal.self) {
            _ = try SfdestRuntime(settings: settings, logger: Logger(label: "sfdest.tls-test"))
        }
        #expect(other?.description.contains("--tls-cert") == true, "\(other?.description ?? "")")
    }

    @Test("unreadable, non-PEM and mismatched TLS files are refused, naming the file")
    func unusableFiles() throws {
        let files = try Files()
        let missing = files.directory.appendingPathComponent("missing.pem").path
        let cases: [(certificate: String, key: String, expected: [String])] = [
            (missing, files.key, [missing, "cannot read"]),
            (files.certificate, missing, [missing, "cannot read"]),
            (files.key, files.key, [files.key, "PEM certificate"]),
            (files.certificate, files.certificate, [files.certificate, "private key"]),
            (files.certificate, files.otherKey, [files.otherKey, "does not match"]),
        ]
        for (certificate, key, expected) in cases {
            var settings = files.settings()
            settings.tlsCertificateFile = certificate
            settings.tlsKeyFile = key
            let refusal = #expect(throws: ListenerRefusal.self, "\(certificate) with \(key)") {
                _ = try SfdestRuntime(settings: settings, logger: Logger(label: "sfdest.tls-test"))
            }
            let message = refusal?.description ?? ""
            for text in expected {
                #expect(message.contains(text), "\(message)")
            }
        }
    }
}

struct TLSTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
