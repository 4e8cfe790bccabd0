import Foundation
import Logging
import SfdestRuntime
import SfdestTestSupport
import Synchronization
import Testing

/// Deadlines and caps of the HTTP server, driven with raw sockets on loopback: what a slow or greedy
/// client does before (or instead of) authenticating.
@Suite("Server limits: idle and body deadlines, connection and in-flight caps, lingering close")
struct ServerLimitsTests {
    static let authorization = "Authorization: Bearer \(ServerHarness.apiKey)\r\n"

    static func profilesHead(contentLength: Int? = nil, chunked: Bool = false) -> String {
        var head = "POST /v1/profiles HTTP/1.1\r\nHost: 127.0.0.1\r\n\(Self.authorization)Content-Type: application/json\r\n"
        if let contentLength { head += "Content-Length: \(contentLength)\r\n" }
        if chunked { head += "Transfer-Encoding: chunked\r\n" }
        return head + "\r\n"
    }

    /// Whether `GET /health` is answered 200 on a new connection within about 3 s (once what held
    /// the server's caps is gone).
    static func healthIsServedAgain(port: Int) async -> Bool {
        await offPool { () -> Bool in
            for _ in 0..<60 {
                guard let probe = try? RawConnection(port: port) else { return false }
                defer { probe.disconnect() }
                probe.send(Self.healthRequest)
                if probe.readResponse(timeout: .seconds(2)).text.hasPrefix("HTTP/1.1 200") { return true }
                Thread.sleep(forTimeInterval: 0.05)
            }
            return false
        }
    }

    static let healthRequest = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

    /// Runs `work` off the pool while a thread of its own asks the server for `GET /health` every
    /// 50 ms, and returns how late the server could be meanwhile: the longest such request took,
    /// or the longest the probing thread itself went unscheduled past its 50 ms. A deadline's
    /// bound adds it, so that a machine that stalls the whole process for seconds (the full suite
    /// on 2 cores) does not fail the test, while a deadline that does not fire still does.
    static func measuringLateness<T: Sendable>(port: Int, _ work: @escaping @Sendable () -> T) async -> (T, Duration) {
        let probe = LatenessProbe(port: port)
        probe.start()
        let result = await offPool(work)
        return (result, await probe.stop())
    }

    @Test("half a request line is cut off at the idle deadline")
    func stalledRequestLine() async throws {
        try await ServerHarness.run(configure: { $0.serverLimits.idleTimeout = .milliseconds(300) }) { harness in
            let connection = try RawConnection(port: harness.service.port)
            defer { connection.disconnect() }
            let ((closed, elapsed), lateness) = await Self.measuringLateness(port: harness.service.port) { () -> (Bool, Duration) in
                connection.send("POST /v1/prof")
                let start = ContinuousClock.now
                let closed = connection.waitForClose(timeout: .seconds(8))
                return (closed, ContinuousClock.now - start)
            }
            #expect(closed, "the connection was still open 8 s after half a request line (idle deadline 300 ms)")
            // Within 1.5 s of the deadline, plus however late the server answered anything meanwhile.
            #expect(elapsed < .milliseconds(300 + 1500) + lateness, "closed only after \(elapsed) (the server was at most \(lateness) late)")
            #expect(elapsed >= .milliseconds(200), "closed after \(elapsed), before the idle deadline")
        }
    }

    @Test("a body trickled a byte at a time, each within the idle deadline, is cut off at the body deadline")
    func slowBodyTrickle() async throws {
        try await ServerHarness.run(configure: { settings in
            settings.serverLimits.idleTimeout = .milliseconds(300)
            settings.serverLimits.bodyTimeout = .milliseconds(800)
        }) { harness in
            let connection = try RawConnection(port: harness.service.port)
            defer { connection.disconnect() }
            let ((closed, elapsed), lateness) = await Self.measuringLateness(port: harness.service.port) { () -> (Bool, Duration) in
                connection.send(Self.profilesHead(contentLength: 1000) + "[")
                let start = ContinuousClock.now
                while ContinuousClock.now - start < .seconds(8) {
                    // One byte every 100 ms: never silent for the idle deadline.
                    guard connection.send(" ") else { return (true, ContinuousClock.now - start) }
                    if connection.readUntilClosed(timeout: .milliseconds(100)).closed { return (true, ContinuousClock.now - start) }
                }
                return (false, ContinuousClock.now - start)
            }
            #expect(closed, "a body trickling for 8 s was not cut off (body deadline 800 ms)")
            #expect(elapsed < .milliseconds(800 + 1500) + lateness, "cut off only after \(elapsed) (the server was at most \(lateness) late)")
            #expect(elapsed >= .milliseconds(600), "cut off after \(elapsed), before the body deadline")
        }
    }

    @Test("a request past the in-flight cap is answered 503 overloaded with Retry-After: 1")
    func inFlightCap() async throws {
        try await ServerHarness.run(configure: { $0.serverLimits.maxRequestsInFlight = 1 }) { harness in
            let port = harness.service.port
            // In flight until its body is finished, which it never is.
            let holder = try RawConnection(port: port)
            defer { holder.disconnect() }
            let response = await offPool { () -> String? in
                holder.send(Self.profilesHead(contentLength: 100) + "[")
                for _ in 0..<50 {
                    guard let probe = try? RawConnection(port: port) else { return nil }
                    defer { probe.disconnect() }
                    probe.send(Self.healthRequest)
                    let reply = probe.readResponse(timeout: .seconds(2)).text
                    if reply.hasPrefix("HTTP/1.1 503") { return reply }
                    Thread.sleep(forTimeInterval: 0.05)
                }
                return nil
            }
            let reply = try #require(response, "no request was answered 503 while another was in flight with a cap of 1")
            #expect(RawConnection.header("Retry-After", in: reply) == "1")
            #expect(Self.errorCode(reply) == "overloaded", "\(reply)")
            holder.disconnect()
            // Once the held request is gone, requests are served again.
            let served = await Self.healthIsServedAgain(port: port)
            #expect(served, "GET /health was not served again after the held request ended")
        }
    }

    @Test("a connection past the connection cap is answered 503 with Retry-After and closed")
    func connectionCap() async throws {
        try await ServerHarness.run(configure: { $0.serverLimits.maxConnections = 2 }) { harness in
            let port = harness.service.port
            let first = try RawConnection(port: port)
            let second = try RawConnection(port: port)
            defer {
                first.disconnect()
                second.disconnect()
            }
            let refused = await offPool { () -> (RawConnection.Received, closed: Bool)? in
                first.send("GET /hea")
                second.send("GET /hea")
                for _ in 0..<50 {
                    guard let probe = try? RawConnection(port: port) else { return nil }
                    defer { probe.disconnect() }
                    probe.send(Self.healthRequest)
                    let reply = probe.readResponse(timeout: .seconds(2))
                    if reply.text.hasPrefix("HTTP/1.1 503") { return (reply, reply.closed || probe.waitForClose(timeout: .seconds(2))) }
                    Thread.sleep(forTimeInterval: 0.05)
                }
                return nil
            }
            let (reply, closed) = try #require(refused, "a third connection was served with a cap of 2 connections")
            #expect(closed, "the refused connection was left open")
            #expect(RawConnection.header("Retry-After", in: reply.text) == "1")
            #expect(Self.errorCode(reply.text) == "overloaded", "\(reply.text)")
            first.disconnect()
            second.disconnect()
            let served = await Self.healthIsServedAgain(port: port)
            #expect(served, "GET /health was not served again after the other connections closed")
        }
    }

    @Test("an oversized body written in full before reading gets its 413, and the connection serves the next request", arguments: [false, true])
    func oversizedBodyWrittenBeforeReading(chunked: Bool) async throws {
        try await ServerHarness.run(maxProfileBodyBytes: 64 << 10) { harness in
            let connection = try RawConnection(port: harness.service.port)
            defer { connection.disconnect() }
            let body = Data(("[" + String(repeating: "{\"a\":1},", count: 40_000) + "{}]").utf8)
            let reply = await offPool { () -> RawConnection.Received in
                if chunked {
                    connection.send(Self.profilesHead(chunked: true))
                    var offset = 0
                    while offset < body.count {
                        let chunk = body[offset..<min(offset + 16_384, body.count)]
                        connection.send(String(chunk.count, radix: 16) + "\r\n")
                        connection.send(Data(chunk))
                        connection.send("\r\n")
                        offset += chunk.count
                    }
                    connection.send("0\r\n\r\n")
                } else {
                    connection.send(Self.profilesHead(contentLength: body.count))
                    connection.send(body)
                }
                let answer = connection.readResponse(timeout: .seconds(6))
                // The rest of the body was read and discarded: the connection serves the next request.
                connection.send(Self.healthRequest)
                let next = connection.readResponse(timeout: .seconds(6))
                return RawConnection.Received(data: answer.data + Data("\n---\n".utf8) + next.data, closed: next.closed)
            }
            let (answer, next) = (reply.text.components(separatedBy: "\n---\n").first ?? "", reply.text.components(separatedBy: "\n---\n").last ?? "")
            #expect(answer.hasPrefix("HTTP/1.1 413"), "\(answer.prefix(300))")
            #expect(Self.errorCode(answer) == "payload_too_large")
            #expect(next.hasPrefix("HTTP/1.1 200"), "\(next.prefix(300))")
        }
    }

    @Test("an answered request whose body goes on past the lingering bounds has its connection closed")
    func lingerBoundsCloseTheConnection() async throws {
        try await ServerHarness.run(maxProfileBodyBytes: 16 << 10, configure: { $0.serverLimits.lingerBytes = 64 << 10 }) { harness in
            let connection = try RawConnection(port: harness.service.port)
            defer { connection.disconnect() }
            let closed = await offPool { () -> Bool in
                // 1 MiB announced: answered 413 at once, 64 KiB discarded, then the connection is closed.
                connection.send(Self.profilesHead(contentLength: 1 << 20))
                let chunk = Data(repeating: 0x20, count: 16 << 10)
                // Exactly the announced body, then only waiting.
                for _ in 0..<64 {
                    guard connection.send(chunk) else { return true }
                    if connection.readUntilClosed(timeout: .milliseconds(20)).closed { return true }
                }
                return connection.waitForClose(timeout: .seconds(4))
            }
            #expect(closed, "the connection stayed open after 1 MiB of an answered body (lingering bound 64 KiB)")
        }
    }

    @Test("Python's urllib posting an oversized body reads the 413 instead of hanging")
    func urllibSeesThe413() async throws {
        try await ServerHarness.run(maxProfileBodyBytes: 64 << 10) { harness in
            let script = """
                import sys, urllib.request, urllib.error
                body = b"[" + b'{"a":1},' * 40000 + b"{}]"
                request = urllib.request.Request(sys.argv[1], data=body, method="POST",
                    headers={"Authorization": "Bearer " + sys.argv[2], "Content-Type": "application/json"})
                try:
                    urllib.request.urlopen(request, timeout=8)
                    print("accepted")
                except urllib.error.HTTPError as error:
                    print(error.code, error.headers.get("Connection"))
                except Exception as error:
                    print("failed", type(error).__name__, error)
                """
            let output = try await runPython(script, arguments: ["\(harness.service.baseURL)/v1/profiles", ServerHarness.apiKey])
            #expect(output.hasPrefix("413"), "\(output)")
        }
    }

    @Test("POST /v1/profiles is answered 503 before its body is read when the ingest queue is full")
    func queueFullBeforeBody() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-limits-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var settings = ServiceHarness.testSettings(dataDirectory: directory)
        settings.environment = ["SFDEST_API_KEY": ServerHarness.apiKey]
        settings.ingestQueueProfiles = 1
        let runtime = try SfdestRuntime(settings: settings, logger: Logger(label: "sfdest.limits-test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
            // The API alone: ingest does not run yet, so a submitted profile stays queued.
            group.addTask { try await runtime.application(onListening: { portContinuation.yield($0) }).run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            let profile = try JSONSerialization.data(withJSONObject: [ServerHarness.profile(crmId: "003xx000001")])
            let filler = try RawConnection(port: port)
            defer { filler.disconnect() }
            let refusal = await offPool { () -> String? in
                filler.send(Self.profilesHead(contentLength: profile.count))
                filler.send(profile)
                for _ in 0..<10 {
                    guard let probe = try? RawConnection(port: port) else { return nil }
                    defer { probe.disconnect() }
                    // A body announced and never sent: only an answer given before reading it arrives.
                    probe.send(Self.profilesHead(contentLength: 10_000) + "[")
                    let reply = probe.readResponse(timeout: .seconds(1)).text
                    if reply.hasPrefix("HTTP/1.1 503") { return reply }
                }
                return nil
            }
            #expect(refusal != nil, "no answer before the body while the ingest queue was full")
            if let reply = refusal {
                #expect(RawConnection.header("Retry-After", in: reply) != nil)
                #expect(Self.errorCode(reply) == "unavailable")
            }
            // Ingest starts (also after a failure above, so the API can stop): the queued profile is
            // committed and its request answered 202.
            group.addTask { try await runtime.services.ingest.run() }
            // The wait is the harness's: ingest starting and committing beside the whole suite.
            let accepted = await offPool { filler.readResponse(timeout: .seconds(60)).text }
            #expect(accepted.hasPrefix("HTTP/1.1 202"), "\(accepted.prefix(200))")
            filler.disconnect()
            group.cancelAll()
        }
        try await runtime.services.httpClient.shutdown()
    }

    /// `error.code` of a JSON error response.
    static func errorCode(_ response: String) -> String? {
        guard let body = response.components(separatedBy: "\r\n\r\n").dropFirst().first,
              let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
              let error = object["error"] as? [String: Any]
        else { return nil }
        return error["code"] as? String
    }

    /// Runs python3 with a script; its standard output.
    func runPython(_ script: String, arguments: [String]) async throws -> String {
        try await offPool { () -> Result<String, any Error> in
            Result {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                process.arguments = ["python3", "-c", script] + arguments
                let out = Pipe()
                process.standardOutput = out
                try ProcessLaunch.run(process)
                let data = out.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                return String(decoding: data, as: UTF8.self)
            }
        }.get()
    }
}

/// Asks the server for `GET /health` every 50 ms on a thread of its own and keeps the worst
/// lateness it saw (see `ServerLimitsTests.measuringLateness`).
final class LatenessProbe: Sendable {
    private let port: Int
    private let state = Mutex<(stop: Bool, worst: Duration)>((false, .zero))
    private let finished = DispatchSemaphore(value: 0)

    init(port: Int) { self.port = port }

    func start() {
        Thread { [self] in
            var last = ContinuousClock.now
            while !self.state.withLock({ $0.stop }) {
                let asked = ContinuousClock.now
                // The thread itself may go unscheduled: beyond its 50 ms sleep, that is lateness too.
                var late = max(.zero, asked - last - .milliseconds(50))
                if let connection = try? RawConnection(port: self.port) {
                    connection.send(ServerLimitsTests.healthRequest)
                    _ = connection.readResponse(timeout: .seconds(5))
                    connection.disconnect()
                    late = max(late, ContinuousClock.now - asked)
                }
                self.state.withLock { $0.worst = max($0.worst, late) }
                last = ContinuousClock.now
                Thread.sleep(forTimeInterval: 0.05)
            }
            self.finished.signal()
        }.start()
    }

    /// Stops probing and returns the worst lateness seen (off the pool: it waits for the thread).
    func stop() async -> Duration {
        await offPool {
            self.state.withLock { $0.stop = true }
            self.finished.wait()
            return self.state.withLock { $0.worst }
        }
    }
}

/// Runs blocking socket work on a thread of its own, not on the cooperative pool the server's
/// handlers need.
func offPool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: work()) }
        thread.start()
    }
}
