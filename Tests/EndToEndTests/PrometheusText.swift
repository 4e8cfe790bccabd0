import AsyncHTTPClient
import Foundation
import Testing

/// A parsed Prometheus text exposition: `# HELP`, `# TYPE` and `name{labels} value` lines.
struct PrometheusText {
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    var types: [String: String] = [:]
    var help: [String: String] = [:]
    var samples: [Sample] = []

    /// Parses the text; any line that is none of the three forms is an error naming it.
    init(_ text: String) throws {
        for line in text.split(separator: "\n").map(String.init) where !line.isEmpty {
            if line.hasPrefix("# HELP ") {
                let rest = line.dropFirst(7)
                let name = String(rest.prefix { $0 != " " })
                self.help[name] = String(rest.dropFirst(name.count + 1))
            } else if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ")
                guard parts.count == 2, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[1]) else {
                    throw Failure(line: line)
                }
                self.types[String(parts[0])] = String(parts[1])
            } else if line.hasPrefix("#") {
                continue
            } else {
                self.samples.append(try Self.sample(line))
            }
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var line: String
        var description: String { "not Prometheus text: \(self.line)" }
    }

    private static func sample(_ line: String) throws -> Sample {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...].replacingOccurrences(of: "+Inf", with: "inf")) else {
            throw Failure(line: line)
        }
        let series = line[..<space]
        guard let open = series.firstIndex(of: "{") else {
            guard Self.isName(series) else { throw Failure(line: line) }
            return Sample(name: String(series), labels: [:], value: value)
        }
        guard series.hasSuffix("}"), Self.isName(series[..<open]) else { throw Failure(line: line) }
        var labels: [String: String] = [:]
        var rest = series[series.index(after: open)..<series.index(before: series.endIndex)]
        while !rest.isEmpty {
            guard let equals = rest.firstIndex(of: "="), rest[rest.index(after: equals)...].first == "\"" else { throw Failure(line: line) }
            let key = String(rest[..<equals])
            var index = rest.index(equals, offsetBy: 2)
            var value = ""
            while index < rest.endIndex, rest[index] != "\"" {
                if rest[index] == "\\" { index = rest.index(after: index) }
                value.append(rest[index])
                index = rest.index(after: index)
            }
            guard index < rest.endIndex, Self.isName(key[...]) else { throw Failure(line: line) }
            labels[key] = value
            rest = rest[rest.index(after: index)...]
            if rest.first == "," { rest = rest.dropFirst() }
        }
        return Sample(name: String(series[..<open]), labels: labels, value: value)
    }

    private static func isName(_ text: Substring) -> Bool {
        guard let first = text.first, first.isLetter || first == "_" || first == ":" else { return false }
        return text.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" }
    }

    /// The sum of the samples of `name` whose labels include `labels`; nil when there is none, so
    /// a metric that is missing (or mislabelled) never reads as 0.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = self.samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
        return matching.isEmpty ? nil : matching.reduce(0) { $0 + $1.value }
    }

    /// `GET /metrics` with a key that has `view-metrics` (the bootstrap key is admin), parsed.
    static func scrape(_ baseURL: String, apiKey: String) async throws -> PrometheusText {
        var request = HTTPClientRequest(url: baseURL + "/metrics")
        request.headers.add(name: "Authorization", value: "Bearer \(apiKey)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        #expect(response.status.code == 200)
        #expect(response.headers.first(name: "Content-Type")?.hasPrefix("text/plain") == true)
        let body = try await response.body.collect(upTo: 16 << 20)
        return try PrometheusText(String(buffer: body))
    }
}
