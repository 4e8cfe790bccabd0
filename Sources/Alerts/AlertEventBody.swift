import Foundation
import Store

/// The JSON body of one alert event, as POSTed to webhooks:
/// `{"id", "rule", "destinationId", "state", "message", "details", "openedAt", "resolvedAt"}`.
struct AlertEventBody: Encodable {
    let alert: Alert

    enum CodingKeys: String, CodingKey { case id, rule, destinationId, state, message, details, openedAt, resolvedAt }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.alert.id, forKey: .id)
        try container.encode(self.alert.rule.rawValue, forKey: .rule)
        try container.encode(self.alert.destinationId, forKey: .destinationId)
        try container.encode(self.alert.state.rawValue, forKey: .state)
        try container.encode(self.alert.message, forKey: .message)
        try container.encode(self.alert.details, forKey: .details)
        try container.encode(self.alert.openedAt.formatted(.iso8601), forKey: .openedAt)
        try container.encode(self.alert.resolvedAt?.formatted(.iso8601), forKey: .resolvedAt)
    }

    /// The bytes sent and signed.
    static func data(_ alert: Alert) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(AlertEventBody(alert: alert))
    }
}

