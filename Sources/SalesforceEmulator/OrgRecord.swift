import Foundation
import SfdestJSON

/// One record in the org: its Id, its object and its field values by canonical API name.
///
/// A field missing from `fields` reads as null.
struct OrgRecord: Sendable {
    let id: String
    /// The canonical sObject name, e.g. "Contact".
    let type: String
    var fields: [String: JSON]

    var isDeleted: Bool {
        self.fields["IsDeleted"] == .bool(true)
    }

    var isConvertedLead: Bool {
        self.fields["IsConverted"] == .bool(true)
    }

    /// The record with every field of `schema` (nulls included), `attributes` first.
    func json(schema: SObjectSchema, only selection: [FieldDefinition]? = nil, url: String? = nil) -> JSON {
        var attributes: [(String, JSON)] = [("type", .string(self.type))]
        if let url {
            attributes.append(("url", .string(url)))
        }
        var pairs: [(String, JSON)] = [("attributes", .object(attributes))]
        for field in selection ?? schema.fields {
            pairs.append((field.name, field.name == "Id" ? .string(self.id) : self.fields[field.name] ?? .null))
        }
        return .object(pairs)
    }

    /// Recomputes the calculated full name from first and last name.
    mutating func refreshName() {
        let parts = [self.fields["FirstName"], self.fields["LastName"]].compactMap { value -> String? in
            guard let text = value?.stringValue, !text.isEmpty else { return nil }
            return text
        }
        self.fields["Name"] = parts.isEmpty ? .null : .string(parts.joined(separator: " "))
    }
}

/// Timestamps in Salesforce's datetime format, e.g. `2026-01-15T10:30:00.000+0000`.
enum SalesforceTimestamp {
    static func now() -> String {
        let seconds = Date().timeIntervalSince1970
        let whole = Int(seconds)
        let millis = Int((seconds - Double(whole)) * 1000)
        var time = time_t(whole)
        var parts = tm()
        gmtime_r(&time, &parts)
        let date = String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03d+0000",
            Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), millis
        )
        return date
    }
}
