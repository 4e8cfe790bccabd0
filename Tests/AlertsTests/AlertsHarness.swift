import EmulatorAdminClient
import Foundation
import Logging
import SalesforceEmulator
import SfdestClient
import SfdestRuntime
import SfdestTestSupport
import Testing

/// The real service with fast alert evaluation and webhook retries, the real emulator, and a
/// fresh data directory (see `ServiceHarness`).
struct AlertsE2E {
    let emulator: RunningEmulator
    let admin: EmulatorAdminClient
    let api: ContractClient
    let dataDirectory: String
    let logs: CapturedLogs

    static func with(
        contacts: Int = 20, leads: Int = 5,
        configure: (inout SfdestRuntime.Settings) -> Void = { _ in },
        _ body: @Sendable (AlertsE2E) async throws -> Void
    ) async throws {
        try await ServiceHarness.with(contacts: contacts, leads: leads, configure: { settings in
            settings.alerts.evaluationInterval = .milliseconds(100)
            settings.alerts.webhookPollInterval = .milliseconds(50)
            settings.alerts.webhookBackoffBase = 0.05
            settings.alerts.webhookBackoffCap = 0.5
            configure(&settings)
        }) { service in
            try await body(AlertsE2E(
                emulator: service.emulator, admin: service.admin, api: service.api,
                dataDirectory: service.dataDirectory, logs: service.logs
            ))
        }
    }

    /// A connection to the emulator and an enabled destination with the standard mappings and one
    /// audience in `crm_1_seg__c`; returns the destination's id.
    func configureDestination(objectType: String = "Contact") async throws -> String {
        try await self.admin.addLongTextAreaFields(["crm_1_seg__c"], to: [objectType])
        let connection = try await self.api.connectToEmulator(loginURL: self.emulator.baseURL)
        let id = try await self.api.createDestination(connectionId: connection, objectType: objectType)
        try await self.api.configureDestination(id, mappings: ContractClient.mappings(), segments: [["segmentId": "seg-gold", "mappingId": "crm_1_seg"]])
        return id
    }

    /// Subscribes a webhook; returns the subscription's id.
    @discardableResult
    func subscribe(_ url: String, secret: String, destinationId: String? = nil) async throws -> String {
        var body: [String: Any] = ["url": url, "secret": secret]
        if let destinationId { body["destinationId"] = destinationId }
        let answer = try await self.api.expect(201, .POST, "/v1/alerts/subscriptions", json: body)
        return try #require(answer.object["id"] as? String)
    }

    /// Posts profiles as NDJSON.
    func post(_ profiles: [[String: Any]]) async throws {
        try await self.api.postProfiles(profiles)
    }

    /// Waits (bounded) until `GET /v1/alerts` of the destination shows an alert of `rule` in `state`; returns it.
    func waitForAlert(_ rule: String, state: String, destinationId: String, timeout: Duration = .seconds(30)) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let alerts = try await self.api.expect(200, .GET, "/v1/alerts?destinationId=\(destinationId)").array
            if let alert = alerts.first(where: { $0["rule"] as? String == rule && $0["state"] as? String == state }) { return alert }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("no \(state) \(rule) alert for \(destinationId) within \(timeout)")
        return [:]
    }
}

/// A profile with a Salesforce Id and the audience `seg-gold`.
func profile(id: String, lastName: String = "Alerted") -> [String: Any] {
    [
        "identityMap": ["crmID": [["id": id]]],
        "person": ["name": ["lastName": lastName]],
        "segmentMembership": ["ups": ["seg-gold": ["status": "realized", "lastQualificationTime": "2026-11-20T10:00:00Z"]]],
    ]
}
