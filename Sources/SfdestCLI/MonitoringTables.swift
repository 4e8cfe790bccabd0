import Foundation

/// The tables of the CLI views, from the JSON the service's API answers.
public enum MonitoringTables {
    /// `sfdest destinations`: `GET /v1/destinations`.
    public static func destinations(_ items: [[String: Any]]) -> String {
        var table = TextTable(columns: [
            .init("ID"), .init("NAME"), .init("OBJECT"), .init("STATUS"), .init("DELIVERY"),
            .init("PENDING", .right), .init("RETRYING", .right), .init("FAILED", .right), .init("LAST DELIVERY"),
        ])
        for item in items {
            let backlog = item["backlog"] as? [String: Any] ?? [:]
            let delivery = item["delivery"] as? [String: Any] ?? [:]
            table.rows.append([
                CellFormat.text(item["id"]), CellFormat.text(item["name"]), CellFormat.text(item["objectType"]),
                CellFormat.text(item["status"]), CellFormat.text(delivery["status"]),
                CellFormat.count((backlog["pending"] as? Int ?? 0) + (backlog["inFlight"] as? Int ?? 0)),
                CellFormat.count(backlog["retrying"]), CellFormat.count(backlog["failed"]),
                CellFormat.time(item["lastDeliveryAt"]),
            ])
        }
        return items.isEmpty ? "No destinations yet: create one with POST /v1/destinations." : table.render()
    }

    /// `sfdest runs`: `GET /v1/destinations/{id}/runs`, newest window first.
    public static func runs(_ items: [[String: Any]]) -> String {
        var table = TextTable(columns: [
            .init("WINDOW (UTC)"), .init("STATUS"), .init("RECEIVED", .right), .init("ACTIVATED", .right),
            .init("UNCHANGED", .right), .init("EXCLUDED", .right), .init("FAILED", .right), .init("RATE", .right),
            .init("PROCESSING", .right),
        ])
        for item in items {
            table.rows.append([
                CellFormat.time(item["start"]), CellFormat.text(item["status"]), CellFormat.count(item["profilesReceived"]),
                CellFormat.count(item["identitiesActivated"]), CellFormat.count(item["identitiesUnchanged"]),
                CellFormat.count(item["identitiesExcluded"]), CellFormat.count(item["identitiesFailed"]),
                CellFormat.percent(item["activationRate"]), CellFormat.duration(item["processingSeconds"]),
            ])
        }
        return items.isEmpty ? "No runs yet: no profile reached this destination." : table.render()
    }

    /// `sfdest failures`: `GET /v1/destinations/{id}/failures` (`{"groups": [...]}`).
    public static func failures(_ answer: [String: Any]) -> String {
        let groups = answer["groups"] as? [[String: Any]] ?? []
        var table = TextTable(columns: [
            .init("KIND"), .init("CODE"), .init("COUNT", .right), .init("FIELDS"), .init("MESSAGE"), .init("SAMPLE RECORDS"),
        ])
        for group in groups {
            table.rows.append([
                CellFormat.text(group["kind"]), CellFormat.text(group["code"]), CellFormat.count(group["count"]),
                CellFormat.list(group["fields"]), CellFormat.truncated(group["message"], to: 60),
                CellFormat.list(group["sampleRecordIds"], limit: 2),
            ])
        }
        return groups.isEmpty ? "No failed or excluded identities." : table.render()
    }

    /// `sfdest audiences`: `GET /v1/destinations/{id}/segments`.
    public static func audiences(_ items: [[String: Any]]) -> String {
        var table = TextTable(columns: [
            .init("AUDIENCE"), .init("MAPPING ID"), .init("START"), .init("END"), .init("REALIZED", .right),
            .init("EXISTING", .right), .init("EXITED", .right), .init("LAST DELIVERY"),
        ])
        for item in items {
            let profiles = item["profiles"] as? [String: Any] ?? [:]
            table.rows.append([
                CellFormat.text(item["segmentId"]), CellFormat.text(item["mappingId"]), CellFormat.text(item["startDate"]),
                CellFormat.text(item["endDate"]), CellFormat.count(profiles["realized"]), CellFormat.count(profiles["existing"]),
                CellFormat.count(profiles["exited"]), CellFormat.time(item["lastDelivery"]),
            ])
        }
        return items.isEmpty ? "No audiences on this destination: set them with PUT /v1/destinations/{id}/segments." : table.render()
    }
}
