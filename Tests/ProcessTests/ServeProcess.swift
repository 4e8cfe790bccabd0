import Foundation
import SfdestBasics
import SfdestTestSupport
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the `sfdest` executable is: `swift test` and `swift build` put it in the build directory
/// next to the test bundle.
enum SfdestBinary {
    static func locate(filePath: String = #filePath) throws -> URL {
        var candidates: [URL] = []
        if let explicit = ProcessInfo.processInfo.environment["SFDEST_TEST_BINARY"], !explicit.isEmpty {
            candidates.append(URL(fileURLWithPath: explicit))
        }
        let runner = URL(fileURLWithPath: ProcessInfo.processInfo.arguments.first ?? "").resolvingSymlinksInPath()
        var folder = runner.deletingLastPathComponent()
        // On macOS the runner may sit inside `sfdestPackageTests.xctest/Contents/MacOS`.
        for _ in 0..<4 {
            candidates.append(folder.appendingPathComponent("sfdest"))
            folder = folder.deletingLastPathComponent()
        }
        if let bundle = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            candidates.append(bundle.deletingLastPathComponent().appendingPathComponent("sfdest"))
        }
        // <package>/Tests/ProcessTests/<this file>
        let package = URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(package.appendingPathComponent(".build/debug/sfdest"))
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate.path) {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                return candidate
            }
        }
        throw HarnessFailure("""
            the sfdest executable was not found next to the test runner (looked at: \(candidates.map(\.path).joined(separator: ", "))). \
            Run `swift build` (or `swift build --build-tests`) first, then `swift test`.
            """)
    }
}

/// One `sfdest serve` child process. Its stdout and stderr go to files in the log directory;
/// the port it bound is read from its "sfdest listening on http://HOST:PORT" line.
final class ServeProcess: @unchecked Sendable {
    // `Process` is only touched at launch; afterwards the pid and the exit state (set by the
    // termination handler on Foundation's own thread) are all that is used.
    let pid: Int32
    let generation: Int
    let stdoutPath: String
    let stderrPath: String
    let startedAt = ContinuousClock.now
    private let process: Process
    private let exit: ExitRecord
    private(set) var port = 0

    private init(process: Process, exit: ExitRecord, generation: Int, stdoutPath: String, stderrPath: String) {
        self.process = process
        self.pid = process.processIdentifier
        self.exit = exit
        self.generation = generation
        self.stdoutPath = stdoutPath
        self.stderrPath = stderrPath
    }

    /// Launches `sfdest serve --data-dir DIR --port 0` and returns once it listens.
    static func launch(
        binary: URL, dataDirectory: String, environment: [String: String], logDirectory: String, generation: Int,
        registry: ChildProcesses, startTimeout: Duration = .seconds(30), arguments extra: [String] = [], logName: String = "serve"
    ) async throws -> ServeProcess {
        let stdoutPath = "\(logDirectory)/\(logName)-\(generation).out"
        let stderrPath = "\(logDirectory)/\(logName)-\(generation).err"
        guard FileManager.default.createFile(atPath: stdoutPath, contents: nil), FileManager.default.createFile(atPath: stderrPath, contents: nil) else {
            throw HarnessFailure("cannot create the log files in \(logDirectory)")
        }
        let stdout = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        let stderr = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        defer {
            try? stdout.close()
            try? stderr.close()
        }
        let process = Process()
        process.executableURL = binary
        process.arguments = ["serve", "--data-dir", dataDirectory, "--host", "127.0.0.1", "--port", "0"] + extra
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = stdout
        process.standardError = stderr
        let exit = ExitRecord()
        process.terminationHandler = { finished in
            exit.record(status: finished.terminationStatus, signalled: finished.terminationReason == .uncaughtSignal)
        }
        try ProcessLaunch.run(process)
        let child = ServeProcess(process: process, exit: exit, generation: generation, stdoutPath: stdoutPath, stderrPath: stderrPath)
        registry.add(child)
        do {
            child.port = try await child.waitForListeningPort(timeout: startTimeout)
        } catch {
            child.kill()
            _ = await child.waitForExit(timeout: .seconds(5))
            throw error
        }
        return child
    }

    private func waitForListeningPort(timeout: Duration) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        let marker = "sfdest listening on http://127.0.0.1:"
        while ContinuousClock.now < deadline {
            let text = (try? String(contentsOfFile: self.stdoutPath, encoding: .utf8)) ?? ""
            if let range = text.range(of: marker) {
                let digits = text[range.upperBound...].prefix { $0.isNumber }
                if let port = Int(digits), port > 0, text[range.upperBound...].dropFirst(digits.count).first?.isNewline == true {
                    return port
                }
            }
            if let exit = self.exitStatus {
                throw HarnessFailure("sfdest serve (generation \(self.generation)) exited with \(exit) before listening; stderr: \(self.stderrTail())")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw HarnessFailure("sfdest serve (generation \(self.generation)) printed no listening line within \(timeout); stderr: \(self.stderrTail())")
    }

    /// The exit status (or signal number) once the process ended.
    var exitStatus: (status: Int32, signalled: Bool)? { self.exit.state }
    var hasExited: Bool { self.exitStatus != nil }

    /// Sends a signal, unless the process already ended (its pid could belong to another by then).
    func signal(_ number: Int32) {
        guard !self.hasExited else { return }
        sendSignal(self.pid, number)
    }

    func kill() { self.signal(SIGKILL) }
    func terminate() { self.signal(SIGTERM) }

    /// Waits for the end of the process on a Dispatch thread (never blocking the cooperative pool);
    /// nil when it is still running after `timeout`.
    func waitForExit(timeout: Duration) async -> (status: Int32, signalled: Bool)? {
        let seconds = timeout.inSeconds
        let group = self.exit.group
        let ended = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            DispatchQueue.global().async {
                continuation.resume(returning: group.wait(timeout: .now() + seconds) == .success)
            }
        }
        return ended ? self.exitStatus : nil
    }

    /// The last lines the process wrote to stderr, for failure messages.
    func stderrTail(lines: Int = 15) -> String {
        let text = (try? String(contentsOfFile: self.stderrPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: true).suffix(lines).joined(separator: "\n")
    }
}

/// How a child ended, set by Foundation's termination handler on its own thread.
final class ExitRecord: @unchecked Sendable {
    /// Entered at creation, left when the process ends: waiting on it is waiting for the end.
    let group = DispatchGroup()
    private let ended = Mutex<(status: Int32, signalled: Bool)?>(nil)

    init() { self.group.enter() }

    func record(status: Int32, signalled: Bool) {
        self.ended.withLock { $0 = (status, signalled) }
        self.group.leave()
    }

    var state: (status: Int32, signalled: Bool)? { self.ended.withLock { $0 } }
}

/// `kill(2)`, named apart from `ServeProcess.kill()`.
private func sendSignal(_ pid: Int32, _ number: Int32) {
    _ = kill(pid, number)
}

/// Every child started by a test, so that cleanup kills whatever still runs, whatever happened.
final class ChildProcesses: Sendable {
    private let children = Mutex<[ServeProcess]>([])

    func add(_ child: ServeProcess) { self.children.withLock { $0.append(child) } }

    /// SIGKILL to every child still running.
    func killAll() {
        for child in self.children.withLock({ $0 }) { child.kill() }
    }
}

/// Runs `body`, but gives up after `limit`: then `onTimeout` runs at once (it kills the children,
/// which ends any wait on them) and the test fails with a clear message.
func withDeadline<T: Sendable>(
    _ limit: Duration, _ what: String, onTimeout: @escaping @Sendable () -> Void, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            onTimeout()
            throw HarnessFailure("\(what) did not finish within \(limit): stopped")
        }
        return value
    }
}
