import EmulatorAdminClient
import Foundation
import Logging
import SalesforceEmulator
import SfdestClient
import SfdestRuntime
import SfdestTestSupport
import Testing

/// The real service and the real emulator (see `ServiceHarness`), with this suite's helpers.
struct EndToEnd {
    let emulator: RunningEmulator
    let admin: EmulatorAdminClient
    let api: ContractClient
    let dataDirectory: String
    let logs: CapturedLogs

    static let password = "emulator-pw"
    static let securityToken = "TOKEN123"
    static let clientSecret = "sfdest-emulator-consumer-secret"

    /// Runs `body` with everything started; stops it all afterwards.
    static func with(
        contacts: Int = 20, leads: Int = 5,
        configure: (inout SfdestRuntime.Settings) -> Void = { _ in },
        _ body: @Sendable (EndToEnd) async throws -> Void
    ) async throws {
        try await ServiceHarness.with(contacts: contacts, leads: leads, configure: configure) { service in
            try await body(EndToEnd(
                emulator: service.emulator, admin: service.admin, api: service.api,
                dataDirectory: service.dataDirectory, logs: service.logs
            ))
        }
    }

    /// Creates a connection to the emulator and a destination with the seed's mappings; returns its id.
    func configureDestination(
        objectType: String = "Contact",
        mappings: [[String: String]]? = nil,
        segments: [[String: Any]] = [["segmentId": "seg-gold", "mappingId": "crm_1_seg"], ["segmentId": "seg-a", "mappingId": "crm_2_seg"], ["segmentId": "seg-b", "mappingId": "crm_2_seg"]],
        enable: Bool = true
    ) async throws -> String {
        try await self.admin.addLongTextAreaFields(["crm_1_seg__c", "crm_2_seg__c"], to: [objectType])
        let connection = try await self.api.connectToEmulator(loginURL: self.emulator.baseURL)
        let id = try await self.api.createDestination(connectionId: connection, objectType: objectType)
        let defaultMappings = ContractClient.mappings(objectType == "Lead"
            ? ["person.name.firstName": "FirstName", "personalEmail.address": "Email", "b2b.companyName": "Company"]
            : ["person.name.firstName": "FirstName", "personalEmail.address": "Email"])
        try await self.api.configureDestination(id, mappings: mappings ?? defaultMappings, segments: segments, enable: enable)
        return id
    }

    /// Posts profiles as NDJSON; returns the answer.
    @discardableResult
    func post(_ profiles: [[String: Any]]) async throws -> ContractClient.Answer {
        try await self.api.postProfiles(profiles)
    }

    /// Waits until the destination has nothing queued, in flight or retrying, and its runs are completed.
    func waitUntilDelivered(_ destinationId: String, timeout: Duration = .seconds(60)) async throws {
        try await self.api.waitUntilDelivered(destinationId, timeout: timeout)
    }

    /// The summed counters of every run window.
    func runTotals(_ destinationId: String) async throws -> [String: Int] {
        var totals: [String: Int] = [:]
        for run in try await self.api.expect(200, .GET, "/v1/destinations/\(destinationId)/runs").array {
            for key in ["profilesReceived", "identitiesActivated", "identitiesUnchanged", "identitiesExcluded", "identitiesFailed"] {
                totals[key, default: 0] += run[key] as? Int ?? 0
            }
        }
        return totals
    }

    func patchCalls() async throws -> Int {
        try await self.admin.stats().callsByEndpoint["PATCH /composite/sobjects"] ?? 0
    }
}

/// A profile as a customer-data platform exports it.
func xdmProfile(id: String, lastName: String? = nil, firstName: String? = nil, email: String? = nil, company: String? = nil, segments: [String: String] = ["seg-gold": "realized"], time: String = "2026-11-20T10:00:00Z") -> [String: Any] {
    var profile: [String: Any] = ["identityMap": ["crmID": [["id": id]]]]
    var name: [String: Any] = [:]
    if let lastName { name["lastName"] = lastName }
    if let firstName { name["firstName"] = firstName }
    if !name.isEmpty { profile["person"] = ["name": name] }
    if let email { profile["personalEmail"] = ["address": email] }
    if let company { profile["b2b"] = ["companyName": company] }
    if !segments.isEmpty {
        profile["segmentMembership"] = ["ups": segments.mapValues { ["status": $0, "lastQualificationTime": time] }]
    }
    return profile
}
