import Foundation

/// How values of the API's JSON read in a table cell.
public enum CellFormat {
    /// An integer (a count), or `-`.
    public static func count(_ value: Any?) -> String {
        if let number = value as? Int { return String(number) }
        if let number = value as? Double { return String(Int(number)) }
        return "-"
    }

    /// A share as a percentage with one decimal (`0.755` → `75.5%`).
    public static func percent(_ value: Any?) -> String {
        guard let share = (value as? Double) ?? (value as? Int).map(Double.init) else { return "-" }
        return String(format: "%.1f%%", share * 100)
    }

    /// A duration in seconds, readably: `0.42s`, `12.3s`, `4m 05s`, `2h 03m`.
    public static func duration(_ value: Any?) -> String {
        guard let seconds = (value as? Double) ?? (value as? Int).map(Double.init) else { return "-" }
        if seconds < 10 { return String(format: "%.2fs", seconds) }
        if seconds < 60 { return String(format: "%.1fs", seconds) }
        let whole = Int(seconds.rounded())
        if whole < 3600 { return String(format: "%dm %02ds", whole / 60, whole % 60) }
        return String(format: "%dh %02dm", whole / 3600, whole % 3600 / 60)
    }

    /// An ISO 8601 time as `2026-11-20 10:00:00Z`; `-` for null.
    public static func time(_ value: Any?) -> String {
        guard let text = value as? String, !text.isEmpty else { return "-" }
        return text.replacingOccurrences(of: "T", with: " ")
    }

    /// Text, or `-` for null or empty.
    public static func text(_ value: Any?) -> String {
        guard let text = value as? String, !text.isEmpty else { return "-" }
        return text
    }

    /// Text cut to `limit` characters with an ellipsis.
    public static func truncated(_ value: Any?, to limit: Int) -> String {
        let full = self.text(value)
        return full.count <= limit ? full : String(full.prefix(max(0, limit - 1))) + "…"
    }

    /// A list of strings, comma-separated, at most `limit` of them then `+N`.
    public static func list(_ value: Any?, limit: Int = 3) -> String {
        let items = value as? [String] ?? []
        guard !items.isEmpty else { return "-" }
        let shown = items.prefix(limit).joined(separator: ", ")
        return items.count > limit ? "\(shown) +\(items.count - limit)" : shown
    }
}
