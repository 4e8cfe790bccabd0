import Foundation
import SfdestJSON

/// The API's JSON as the templates read it: objects as dictionaries (null members left out, so a
/// section on them is skipped), arrays as arrays, scalars as they are.
enum UIValue {
    static func from(_ json: JSON) -> Any {
        switch json {
        case .null: return ""
        case .bool(let flag): return flag
        case .int(let number): return number
        case .largeInteger(let text): return text
        case .double(let number): return number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(format: "%.3g", number)
        case .string(let text): return text
        case .array(let items): return items.map(from)
        case .object: return object(json)
        }
    }

    static func object(_ json: JSON) -> [String: Any] {
        var result: [String: Any] = [:]
        for (key, value) in json.objectValue ?? [] where !value.isNull {
            result[key] = from(value)
        }
        return result
    }

    static func objects(_ json: JSON?) -> [[String: Any]] {
        (json?.arrayValue ?? []).map(object)
    }

    /// Each listed object's name by its id (connections, destinations), for tables that show names.
    static func namesById(_ objects: [JSON]) -> [String: String] {
        var names: [String: String] = [:]
        for object in objects {
            guard let id = object["id"]?.stringValue, names[id] == nil else { continue }
            names[id] = object["name"]?.stringValue ?? id
        }
        return names
    }

    /// A CSS class for a status word (`enabled`, `connected`, `failing`, ...).
    static func statusClass(_ status: String?) -> String {
        switch status ?? "" {
        case "enabled", "connected", "active", "healthy", "delivering", "idle", "resolved", "completed": return "ok"
        case "draft", "disabled", "processing", "paused", "open": return "warn"
        default: return "bad"
        }
    }

    /// Whether a destination's view shows work in flight (its page refreshes itself meanwhile).
    static func isBusy(_ destination: JSON) -> Bool {
        let backlog = destination["backlog"]
        let waiting = ["pending", "inFlight", "retrying"].reduce(0) { $0 + Int(backlog?[$1]?.numberValue ?? 0) }
        return waiting > 0 || destination["backfill"]?.boolValue == true
    }

    /// An id as one path segment of an API call (an id is never allowed to add segments).
    static func pathComponent(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-_.~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// A query parameter's value.
    static func queryValue(_ text: String) -> String {
        pathComponent(text)
    }

    /// A timestamp of the API (ISO 8601) as people read it: `2026-12-01 21:45 UTC`.
    static func time(_ text: String?) -> String {
        guard let text, text.count >= 16 else { return text ?? "" }
        return text.prefix(10) + " " + text.dropFirst(11).prefix(5) + " UTC"
    }

    /// Text for HTML made outside the templates (the chart): `& < > " '` escaped.
    static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// A JSON value as compact text (the audit log's before and after).
    static func compact(_ json: JSON?) -> String {
        guard let json, !json.isNull else { return "" }
        return String(decoding: JSONWriter.encode(json), as: UTF8.self)
    }
}
