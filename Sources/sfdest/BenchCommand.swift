import ArgumentParser
import Benchmarks
import Foundation
import Logging
import SfdestRuntime

/// `sfdest bench`: measured figures, not tests. Build with `-c release` for real numbers.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput and API calls against the built-in emulator (use a release build).",
        discussion: "Scenarios so far: ceiling (the emulator alone, pre-built 200-record bodies)."
    )

    enum Scenario: String, ExpressibleByArgument, CaseIterable {
        case ceiling
    }

    @Option(help: "Scenarios to run: \(Scenario.allCases.map(\.rawValue).joined(separator: ", ")).")
    var scenario: [Scenario] = Scenario.allCases

    @Option(help: "Records to update in the ceiling scenario.")
    var records = 200_000

    @Option(help: "Requests in flight at once.")
    var concurrency = 4

    @Flag(help: "Print the results as JSON.")
    var json = false

    func validate() throws {
        guard self.records >= 200 else { throw ValidationError("--records must be at least 200 (one request)") }
        guard (1...64).contains(self.concurrency) else { throw ValidationError("--concurrency must be between 1 and 64") }
    }

    func run() async throws {
        var logger = Logger(label: "sfdest.bench")
        logger.logLevel = .warning
        var results: [String: EmulatorCeiling.Result] = [:]
        for scenario in self.scenario {
            switch scenario {
            case .ceiling:
                var options = EmulatorCeiling.Options()
                options.records = self.records
                options.concurrency = self.concurrency
                let progress = ProgressLine(label: "ceiling", enabled: !self.json)
                let result = try await EmulatorCeiling(options: options).run(logger: logger) { done, total in
                    progress.update(done: done, total: total)
                }
                progress.finish()
                results[scenario.rawValue] = result
            }
        }
        if self.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(results), as: UTF8.self))
        } else {
            #if DEBUG
            print("note: this is a debug build; run `swift run -c release sfdest bench` for real figures")
            #endif
            print("scenario   records   requests   concurrency   seconds   records/s   requests/s")
            for (name, result) in results.sorted(by: { $0.key < $1.key }) {
                print(
                    name.padding(toLength: 10, withPad: " ", startingAt: 0),
                    String(result.records).leftPadded(9),
                    String(result.requests).leftPadded(10),
                    String(result.concurrency).leftPadded(13),
                    String(format: "%9.2f", result.seconds),
                    String(format: "%11.0f", result.recordsPerSecond),
                    String(format: "%12.1f", result.requestsPerSecond)
                )
            }
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        self.count >= width ? self : String(repeating: " ", count: width - self.count) + self
    }
}
