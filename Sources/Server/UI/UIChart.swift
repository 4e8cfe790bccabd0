import Foundation
import SfdestJSON

/// The runs chart: one stacked bar per hourly window, oldest on the left (activated, unchanged,
/// excluded, failed), and a line of profiles received. Plain SVG drawn on the server: no script,
/// no library, readable by a screen reader through its title and the table beside it.
enum UIChart {
    static let width = 720.0
    static let height = 220.0
    static let left = 44.0
    static let bottom = 28.0
    static let top = 12.0

    static func runs(_ runs: [JSON]) -> String {
        let windows = Array(runs.prefix(48).reversed())
        guard !windows.isEmpty else { return "" }
        func value(_ run: JSON, _ name: String) -> Double { run[name]?.numberValue ?? 0 }
        let series: [(name: String, css: String)] = [
            ("identitiesActivated", "c-activated"), ("identitiesUnchanged", "c-unchanged"),
            ("identitiesExcluded", "c-excluded"), ("identitiesFailed", "c-failed"),
        ]
        let peak = max(1, windows.map { run in max(value(run, "profilesReceived"), series.reduce(0) { $0 + value(run, $1.name) }) }.max() ?? 1)
        let plotWidth = width - left - 8, plotHeight = height - bottom - top
        // At least 24 slots, the newest on the right: a bar's width says nothing by itself.
        let slot = plotWidth / Double(max(windows.count, 24))
        let offset = plotWidth - slot * Double(windows.count)
        let barWidth = max(2, slot * 0.7)
        func y(_ amount: Double) -> Double { top + plotHeight - amount / peak * plotHeight }
        var svg = """
            <svg class="chart" viewBox="0 0 \(Int(width)) \(Int(height))" role="img" aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg">
            <title id="chart-title">Profiles received and identities activated, unchanged, excluded and failed per hour, for the last \(windows.count) hours with activity</title>
            <line class="axis" x1="\(left)" y1="\(y(0))" x2="\(width - 8)" y2="\(y(0))"/>
            <text class="tick" x="\(left - 6)" y="\(y(peak) + 4)" text-anchor="end">\(Int(peak))</text>
            <text class="tick" x="\(left - 6)" y="\(y(0) + 4)" text-anchor="end">0</text>

            """
        var line: [String] = []
        for (index, run) in windows.enumerated() {
            let x = left + offset + Double(index) * slot + (slot - barWidth) / 2
            var base = 0.0
            let numbers = series.map { "\($0.name.replacingOccurrences(of: "identities", with: "").lowercased()) \(Int(value(run, $0.name)))" }.joined(separator: ", ")
            svg += "<g><title>\(UIValue.escape(UIValue.time(run["start"]?.stringValue))): received \(Int(value(run, "profilesReceived"))), \(numbers)</title>"
            for item in series {
                let amount = value(run, item.name)
                guard amount > 0 else { continue }
                let y0 = y(base), y1 = y(base + amount)
                svg += "<rect class=\"\(item.css)\" x=\(quote(x)) y=\(quote(y1)) width=\(quote(barWidth)) height=\(quote(max(1, y0 - y1)))/>"
                base += amount
            }
            svg += "</g>\n"
            let received = y(value(run, "profilesReceived"))
            line.append("\(format(x + barWidth / 2)),\(format(received))")
            svg += "<circle class=\"c-received-dot\" cx=\(quote(x + barWidth / 2)) cy=\(quote(received)) r=\"3\"/>\n"
            if index == 0 || index == windows.count - 1 || windows.count <= 12 || index % 6 == 0 {
                let label = UIValue.escape(String((run["start"]?.stringValue ?? "").dropFirst(11).prefix(5)))
                svg += "<text class=\"tick\" x=\(quote(x + barWidth / 2)) y=\"\(Int(height - 10))\" text-anchor=\"middle\">\(label)</text>\n"
            }
        }
        svg += "<polyline class=\"c-received\" points=\"\(line.joined(separator: " "))\"/>\n</svg>"
        return svg
    }

    private static func format(_ number: Double) -> String { String(format: "%.1f", number) }
    private static func quote(_ number: Double) -> String { "\"\(format(number))\"" }
}
