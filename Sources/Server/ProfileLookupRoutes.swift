import Activation
import Foundation
import Hummingbird
import Ingest
import Logging
import SfdestJSON
import Store

/// `GET`/`DELETE /v1/profiles/{namespace}/{id}`: a person's stored profile by one of their
/// identities, with what each destination holds for it; and its erasure.
struct ProfileLookupRoutes: Sendable {
    let services: SfdestServices
    let logger: Logger

    func register(on group: RouterGroup<SfdestRequestContext>) {
        group.get("profiles/{namespace}/{id}") { _, context in
            try await self.show(context.parameters.require("namespace"), context.parameters.require("id"))
        }
        group.delete("profiles/{namespace}/{id}") { _, context in
            try await self.erase(context.parameters.require("namespace"), context.parameters.require("id"))
        }
    }

    func show(_ namespace: String, _ id: String) async throws -> Response {
        try Self.check(namespace, id)
        guard let stored = try await self.services.store.storedProfile(namespace: namespace, value: id) else {
            throw Self.notFound(namespace)
        }
        let profile = stored.profile
        var destinations: [JSON] = []
        for destination in try await self.services.store.destinations() {
            destinations.append(try await self.state(of: profile, in: destination))
        }
        let identities = profile.identities.keys.sorted().map { ($0, JSON.array((profile.identities[$0] ?? []).map(JSON.string))) }
        let memberships = profile.memberships.keys.sorted().map { segment -> (String, JSON) in
            let membership = profile.memberships[segment]!
            return (segment, [
                "status": .string(membership.status.rawValue),
                "lastQualificationTime": .date(Date(timeIntervalSince1970: Double(membership.lastQualificationTime) / 1000)),
            ])
        }
        return JSON(dictionaryLiteral:
            ("identities", .object(identities)),
            ("attributes", fieldsJSON(profile.attributes)),
            ("memberships", .object(memberships)),
            ("destinations", .array(destinations))
        ).response()
    }

    /// What a destination does with the profile and holds for it: `notReceived` (in none of its
    /// audiences), `excluded` (with why), or its record's state (`acknowledged`, `pending`,
    /// `inFlight`, `retrying`, `failed`; `notSent` when nothing was queued for it yet).
    func state(of profile: Profile, in destination: Destination) async throws -> JSON {
        var members: [(String, JSON)] = [
            ("id", .string(destination.id)), ("name", .string(destination.name)), ("objectType", .string(destination.objectType.rawValue)),
            ("status", .string(destination.status.rawValue)),
        ]
        guard let plan = try? destination.activationPlan() else {
            return .object(members + [("state", "notConfigured")])
        }
        switch plan.evaluate(profile) {
        case .notReceived:
            return .object(members + [("state", "notReceived")])
        case .excluded(let exclusion):
            return .object(members + [
                ("state", "excluded"), ("recordId", .string(exclusion.recordId)),
                ("error", ["code": .string(exclusion.code.rawValue), "message": .string(exclusion.message)]),
            ])
        case .record(let desired):
            members.append(("recordId", .string(desired.key)))
            guard let state = try await self.services.store.recordState(destinationId: destination.id, recordId: desired.key) else {
                return .object(members + [("state", "notSent")])
            }
            let word: String
            if state.inFlight != nil {
                word = "inFlight"
            } else if !state.pending.isEmpty {
                word = state.attempts > 0 ? "retrying" : "pending"
            } else if state.lastError?.kind == "failed" {
                word = "failed"
            } else {
                word = "acknowledged"
            }
            members += [
                ("state", .string(word)), ("acknowledged", fieldsJSON(state.acknowledged)), ("acknowledgedAt", .date(state.acknowledgedAt)),
                ("pending", fieldsJSON(state.pending)),
            ]
            if let error = state.lastError {
                members.append(("lastError", ["kind": .string(error.kind), "code": .string(error.code), "message": .string(error.message), "at": .date(error.at)]))
            }
            return .object(members)
        }
    }

    /// Erases the stored profile, its identity links and what every destination keeps for it
    /// (acknowledged values, queued changes, history, listed failures), in one transaction.
    /// Salesforce's records are not touched. The audit log records the erasure by the identity's
    /// hash, never the identity itself.
    func erase(_ namespace: String, _ id: String) async throws -> Response {
        try Self.check(namespace, id)
        var plans: [ActiveDestination] = []
        for destination in try await self.services.store.destinations() {
            if let plan = try? destination.activationPlan() { plans.append(ActiveDestination(id: destination.id, plan: plan)) }
        }
        guard let erasure = try await self.services.store.eraseProfile(namespace: namespace, value: id, destinations: plans) else {
            throw Self.notFound(namespace)
        }
        let summary: JSON = [
            "namespace": .string(namespace), "identityHash": .string(APIKeyMaterial.hash("sfdest-erasure\u{0}\(namespace)\u{0}\(id)")),
            "identities": .int(erasure.identities), "records": .int(erasure.records), "queuedChanges": .int(erasure.queuedChanges),
        ]
        try await self.services.audit(.profileErase, nil, before: summary)
        self.logger.notice("profile erased", metadata: [
            "namespace": "\(namespace)", "identities": "\(erasure.identities)", "records": "\(erasure.records)",
            "queuedChanges": "\(erasure.queuedChanges)",
        ])
        return JSON(dictionaryLiteral:
            ("erased", true),
            ("identities", .int(erasure.identities)),
            ("records", .int(erasure.records)),
            ("queuedChanges", .int(erasure.queuedChanges)),
            ("salesforce", .string(Self.salesforceNote))
        ).response()
    }

    static let salesforceNote = "Salesforce's records are not touched: delete the Contact or Lead there (Setup, or DELETE /services/data/vXX.X/sobjects/Contact/{id}), and empty the org's Recycle Bin if the person asked for erasure"

    static func check(_ namespace: String, _ id: String) throws {
        guard !namespace.isEmpty, namespace.count <= 128, namespace.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" }) else {
            throw APIError(status: .badRequest, code: "invalid_namespace", message: "'\(namespace.prefix(64))' is not an identity namespace: letters, digits or underscores, such as crmID or email")
        }
        guard !id.isEmpty, id.utf8.count <= 1024 else {
            throw APIError(status: .badRequest, code: "invalid_identity", message: "the identity must be 1 to 1024 bytes (URL-encode it in the path)")
        }
    }

    static func notFound(_ namespace: String) -> APIError {
        APIError(status: .notFound, code: "profile_not_found", message: "no stored profile has this \(namespace) identity (namespaces and values are case-sensitive)")
    }
}
