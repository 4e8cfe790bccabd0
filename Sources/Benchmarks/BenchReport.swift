import Foundation

/// Everything `sfdest bench` measured, as a table for people and JSON for machines.
public struct BenchReport: Sendable, Codable {
    public var scale: ServiceBench.ScaleResult?
    public var ceiling: EmulatorCeiling.Result?
    public var sync: ServiceBench.SyncResult?
    public var stream: ServiceBench.StreamResult?
    public var idle: ServiceBench.IdleResult?
    public var backfill: ServiceBench.BackfillResult?
    public var postgres: [PostgresBench.Run]?
    public var latency: LatencyBench.Result?

    public init() {}

    public var table: String {
        var lines: [String] = []
        #if DEBUG
        lines.append("note: this is a debug build; run `swift run -c release sfdest bench` for real figures")
        #endif
        lines.append("scenario    figure                                   value        target")
        func row(_ scenario: String, _ figure: String, _ value: String, _ target: String = "") {
            // Pad, never cut: a long value pushes the target column right rather than losing digits.
            func pad(_ text: String, _ width: Int) -> String { text.count >= width ? text + " " : text.padding(toLength: width, withPad: " ", startingAt: 0) }
            lines.append(pad(scenario, 12) + pad(figure, 41) + pad(value, 13) + target)
        }
        if let ceiling = self.ceiling {
            row("ceiling", "records/s (emulator alone, 200/request)", Self.number(ceiling.recordsPerSecond))
        }
        if let sync = self.sync {
            row("ingest", "profiles/s accepted durably", Self.number(sync.ingestProfilesPerSecond), ">= 50,000")
            row("sync", "records/s, first byte to last ack", Self.number(sync.recordsPerSecond), ">= 20,000 or 70% of ceiling")
            if let ceiling = self.ceiling {
                row("sync", "fraction of the ceiling", String(format: "%.0f%%", 100 * sync.recordsPerSecond / ceiling.recordsPerSecond))
            }
            row("sync", "API calls (minimum ceil(n/200))", "\(sync.apiCalls) (\(sync.minimumApiCalls))", "= minimum")
            row("unchanged", "API calls", "\(sync.unchangedApiCalls)", "0")
            row("unchanged", "profiles/s accepted", Self.number(sync.unchangedIngestProfilesPerSecond))
        }
        if let stream = self.stream {
            row("stream", "profiles/s offered", "\(stream.profilesPerSecondTarget) x \(Int(stream.seconds)) s")
            row("stream", "latency 202 -> Salesforce p50", Self.milliseconds(stream.p50Milliseconds))
            row("stream", "latency p95", Self.milliseconds(stream.p95Milliseconds))
            row("stream", "latency p99", Self.milliseconds(stream.p99Milliseconds), "<= 1 s")
            row("stream", "API calls", "\(stream.apiCalls) for \(stream.profiles) profiles")
        }
        if let idle = self.idle {
            row("idle", "records delivered first", Self.number(Double(idle.deliveredRecords)) + String(format: " in %.0f s", idle.deliverySeconds))
            row("idle", "CPU while idle (share of one core)", String(format: "%.2f%%", 100 * idle.idleCoreShare), "< 1%")
            row("idle", "API calls while idle", "\(idle.idleApiCalls) in \(Int(idle.idleSeconds.rounded())) s", "0")
        }
        if let backfill = self.backfill {
            for run in backfill.runs {
                row("backfill", "\(run.path): records, seconds", "\(Self.number(Double(run.records))) in \(String(format: "%.1f s", run.seconds))")
                row("backfill", "\(run.path): records/s (enable to last ack)", Self.number(run.recordsPerSecond))
                row("backfill", "\(run.path): API calls", "\(run.apiCalls)", run.path == "bulk" ? "<= 30" : "")
                row("backfill", "\(run.path): peak RSS (service and emulator)", String(format: "%.0f MB", run.peakResidentMegabytes))
                row("backfill", "\(run.path): bulk jobs, records written (emulator)", "\(run.bulkJobs), \(Self.number(Double(run.recordsWritten)))")
            }
        }
        if let runs = self.postgres {
            for run in runs {
                let name = run.store == "sqlite" ? "SQLite, 1 process" : "PostgreSQL, 1 api + \(run.workers) worker\(run.workers == 1 ? "" : "s")"
                row("scale-out", "\(name): ingest profiles/s", Self.number(run.ingestProfilesPerSecond))
                row("scale-out", "\(name): sync records/s", Self.number(run.recordsPerSecond))
                row("scale-out", "\(name): API calls (minimum), tokens", "\(run.apiCalls) (\(run.minimumApiCalls)), \(run.tokenRequests)", "= minimum")
                if !run.workerPeakMegabytes.isEmpty {
                    row("scale-out", "\(name): peak RSS per worker", run.workerPeakMegabytes.map { String(format: "%.0f MB", $0) }.joined(separator: ", "))
                }
            }
        }
        if let latency = self.latency {
            let peer = latency.peer?.recordsPerSecond
            row("latency", "org latency; profiles (bodies of 1,000)", "\(latency.latencyMs) ms; \(Self.number(Double(latency.profiles)))")
            for variant in latency.variants {
                let ratio = peer.map { String(format: "%.1fx the script", variant.recordsPerSecond / $0) } ?? ""
                row("latency", "\(variant.name): records/s", Self.number(variant.recordsPerSecond), ratio)
                row("latency", "\(variant.name): API calls (minimum)", "\(variant.apiCalls) (\(variant.minimumApiCalls))", "= minimum")
                if let limit = variant.finalLimit { row("latency", "\(variant.name): requests in flight at the end", "\(limit) (max \(variant.requestsMax))") }
            }
            if let script = latency.peer {
                row("latency", "simple-salesforce script, sequential: records/s", Self.number(script.recordsPerSecond), "\(script.calls) calls")
            } else {
                row("latency", "simple-salesforce script", "not run", latency.peerProblem ?? "")
            }
        }
        if let scale = self.scale {
            row("scale", "profiles stored", Self.number(Double(scale.profiles)))
            row("scale", "peak RSS", String(format: "%.0f MB", scale.peakResidentMegabytes), "<= 250 MB")
            row("scale", "database size", String(format: "%.0f MB", scale.databaseMegabytes))
            for sample in scale.samples {
                row("", "at \(Self.number(Double(sample.profilesStored))): profiles/s, RSS, body p99",
                    "\(Self.number(sample.profilesPerSecond))  \(String(format: "%.0f MB", sample.residentMegabytes))  \(Self.milliseconds(sample.p99BodyMilliseconds))")
            }
        }
        return lines.joined(separator: "\n")
    }

    static func number(_ value: Double) -> String {
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.maximumFractionDigits = 0
        return formatter.string(from: NSNumber(value: value)) ?? String(Int(value))
    }

    static func milliseconds(_ value: Double) -> String {
        value >= 1000 ? String(format: "%.2f s", value / 1000) : String(format: "%.0f ms", value)
    }
}
