import ArgumentParser
import Demo
import Foundation
import Logging
import SfdestRuntime
import Synchronization
import UnixSignals

/// Whether the summary was printed already (by `--ui`, before the wait).
final class PrintedOnce: Sendable {
    private let flag = Mutex(false)
    func done() { self.flag.withLock { $0 = true } }
    var isDone: Bool { self.flag.withLock { $0 } }
}

/// Returns at the first SIGINT or SIGTERM.
func waitForStopSignal() async {
    for await _ in await UnixSignalsSequence(trapping: .sigint, .sigterm) { return }
}

/// `sfdest demo`: the main job end to end on the embedded default, no credentials needed.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the emulator and the service together, stream generated profiles, and check every record in the org."
    )

    @Option(help: "Profiles to stream (one per seeded Contact).")
    var profiles = 10_000

    @Option(help: "Log level.")
    var logLevel = LogLevel(.warning)

    @Flag(help: "Keep the service and the emulator running after the demo and print the web UI's URL and a key, to click through the populated destination (Ctrl-C stops).")
    var ui = false

    @Option(help: "The service's port (0: a free one). Useful with --ui.")
    var port = 0

    func validate() throws {
        guard (1...1_000_000).contains(self.profiles) else { throw ValidationError("--profiles must be between 1 and 1,000,000") }
    }

    func run() async throws {
        let logger = self.logLevel.logger(label: "sfdest.demo")
        var options = Demo.Options()
        options.profiles = self.profiles
        options.resend = min(1_000, self.profiles)
        options.port = self.port
        let printed = PrintedOnce()
        if self.ui {
            options.holdOpen = { report, url, key in
                Swift.print(DemoSummary(report: report).text)
                printed.done()
                Swift.print("""

                    Web UI: \(url)
                    Sign in with the API key: \(key)
                    The service and the emulator keep running; Ctrl-C stops them (the demo's data directory is removed).
                    """)
                fflush(nil)
                await waitForStopSignal()
            }
        }
        let report = try await Demo(options: options, logger: logger, print: { Swift.print($0) }).run()
        if !printed.isDone { Swift.print(DemoSummary(report: report).text) }
        if !report.ok { throw ExitCode.failure }
    }
}

/// The demo's closing summary.
struct DemoSummary {
    let report: Demo.Report

    var text: String {
        let report = self.report
        var lines = [
            "",
            "Run summary (GET /v1/destinations/{id}/runs)",
            "  profiles streamed     \(report.profilesStreamed) in \(String(format: "%.1f", report.seconds)) s (\(Int(Double(report.profilesStreamed) / max(report.seconds, 0.001))) profiles/s, first byte to last acknowledgement)",
            "  received              \(report.received)",
            "  activated             \(report.activated)",
            "  unchanged             \(report.unchanged)",
            "  excluded              \(report.excluded)   (Lead Ids sent to a Contact destination: ID_OF_OTHER_OBJECT)",
            "  failed                \(report.failed)",
            "  API calls used        \(report.apiCalls) (\(report.collectionCalls) sObject Collections updates; minimum for \(report.changedRecords) changed records: \(report.minimumCalls))",
            "  resent unchanged      \(report.resendCalls) API calls",
            "",
            "Records as Salesforce now holds them:",
        ]
        for record in report.sampleRecords {
            lines.append("  " + record.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.replacingOccurrences(of: "\n", with: "\\n"))" }.joined(separator: "  "))
        }
        if report.ok {
            lines.append("")
            lines.append("OK: every record in the org holds exactly what was sent.")
        } else {
            lines.append("")
            lines.append("FAILED: \(report.mismatches.count) mismatches, \(report.failed) failed, \(report.resendCalls) calls for unchanged profiles")
            lines += report.mismatches.prefix(20).map { "  \($0)" }
        }
        return lines.joined(separator: "\n")
    }
}
