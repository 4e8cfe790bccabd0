import Foundation
import Hummingbird
import Logging
import NIOHTTP1
@testable import Server
import SfdestClient
import SfdestJSON
import Store
import Testing

@Suite("Permissions of API keys, route by route")
struct PermissionTests {
    /// The routes the service registers, as the permission table names them.
    static func registeredRoutes(_ harness: ServerHarness) -> [String] {
        let router = buildRouter(settings: ServerSettings(apiKeys: []), services: harness.service.runtime.services, logger: Logger(label: "routes"))
        return router.routes.map { RoutePermissions.key(method: $0.method, path: "\($0.path)") }
    }

    /// A request path for a route pattern: every parameter filled with a value no object has.
    static func concretePath(_ pattern: String) -> String {
        pattern.replacingOccurrences(of: "{recordId}", with: "003000000000001AAA")
            .replacingOccurrences(of: "{namespace}", with: "crmID")
            .replacingOccurrences(of: "{id}", with: "none_here")
    }

    @Test func everyRegisteredRouteHasAnEntryInThePermissionTable() async throws {
        try await ServerHarness.run { harness in
            let routes = Self.registeredRoutes(harness)
            let table = RoutePermissions.table(metricsPublic: false)
            // The list is real: it holds the routes this suite exercises.
            #expect(routes.contains("GET /v1/connections") && routes.contains("POST /v1/keys") && routes.contains("GET /metrics"))
            for route in routes {
                #expect(table[route] != nil, "\(route) has no entry in RoutePermissions")
            }
            // The routes announced by the contract that arrive later are in the table already.
            #expect(table["DELETE /v1/profiles/{namespace}/{id}"] == .requires([.viewProfiles, .manageDestinations]))
            #expect(table["DELETE /v1/destinations/{id}"] == .requires([.manageDestinations]))
            #expect(table["GET /health"] == .open)
        }
    }

    @Test func aRouteMissingFromTheTableIsRefusedEvenToAdmin() async throws {
        try await ServerHarness.run { harness in
            // setup: the middleware in front of a route the table does not list
            let router = Router(context: SfdestRequestContext.self)
            router.add(middleware: ErrorMiddleware())
            router.group().add(middleware: APIKeyMiddleware(settings: ServerSettings(apiKeys: [ServerHarness.apiKey]), store: harness.store))
                .get("v1/unlisted") { _, _ in Response(status: .ok) }
                .get("v1/connections") { _, _ in Response(status: .ok) }
            let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
            let app = Application(
                router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }
            )
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await app.runService() }
                var iterator = ports.makeAsyncIterator()
                let port = try #require(await iterator.next())
                let client = ContractClient(baseURL: "http://127.0.0.1:\(port)", apiKey: ServerHarness.apiKey)

                // run
                let unlisted = try await client.send(.GET, "/v1/unlisted")
                let listed = try await client.send(.GET, "/v1/connections")
                group.cancelAll()

                // validate
                #expect(unlisted.status == 403)
                #expect(unlisted.errorCode == "forbidden")
                #expect(unlisted.errorMessage.contains("permission table"))
                #expect(listed.status == 200, "the same setup lets a listed route through")
            }
        }
    }

    @Test func aKeyWithThePermissionGetsPastTheCheckAndOneWithoutGets403NamingIt() async throws {
        try await ServerHarness.run { harness in
            // setup: one key per permission set needed, made once
            let table = RoutePermissions.table(metricsPublic: false)
            var keys: [String: String] = [:]
            func key(_ permissions: [String]) async throws -> String {
                let name = permissions.sorted().joined(separator: "+")
                if let key = keys[name] { return key }
                let key = try await harness.createKey(permissions, name: name).key
                keys[name] = key
                return key
            }
            var checked = 0
            for route in Self.registeredRoutes(harness).sorted() {
                guard case .requires(let needed)? = table[route] else { continue }
                let parts = route.split(separator: " ", maxSplits: 1).map(String.init)
                let method = HTTPMethod(rawValue: parts[0])
                let path = Self.concretePath(parts[1])
                let body: Any? = method == .POST || method == .PUT ? [String: Any]() : nil

                // run / validate: exactly the needed permissions get past the check
                let allowed = try await harness.client(key: try await key(needed.map(\.rawValue))).send(method, path, json: body)
                #expect(![401, 403].contains(allowed.status), "\(route) with \(needed): \(allowed.status) \(allowed.text)")

                // every other permission but one of those needed: 403 naming it
                for permission in needed {
                    let others = ServerHarness.allPermissions.filter { $0 != permission.rawValue }
                    let denied = try await harness.client(key: try await key(others)).send(method, path, json: body)
                    #expect(denied.status == 403, "\(route) without \(permission.rawValue): \(denied.status) \(denied.text)")
                    #expect(denied.errorCode == "forbidden")
                    #expect(denied.deniedPermissions == [permission.rawValue], "\(route): \(denied.text)")
                    #expect(denied.errorMessage.contains(permission.rawValue))
                }
                checked += 1
            }
            #expect(checked >= 33, "only \(checked) routes were checked")
        }
    }

    @Test func adminGrantsEverythingAndAKeyCannotGrantWhatItLacks() async throws {
        try await ServerHarness.run { harness in
            // setup
            let admin = try await harness.createKey(["admin"], name: "second admin")
            let keyManager = try await harness.createKey(["manage-keys", "view-destinations"], name: "key manager")

            // run
            let adminCall = try await harness.client(key: admin.key).send(.GET, "/v1/audit")
            let withinOwn = try await harness.client(key: keyManager.key).send(.POST, "/v1/keys", json: ["name": "reader", "permissions": ["view-destinations"]])
            let beyondOwn = try await harness.client(key: keyManager.key).send(
                .POST, "/v1/keys", json: ["name": "writer", "permissions": ["view-destinations", "manage-destinations"]]
            )
            let adminFromNonAdmin = try await harness.client(key: keyManager.key).send(.POST, "/v1/keys", json: ["name": "root", "permissions": ["admin"]])

            // validate
            #expect(adminCall.status == 200)
            #expect(withinOwn.status == 201)
            #expect(beyondOwn.status == 403)
            #expect(beyondOwn.deniedPermissions == ["manage-destinations"])
            #expect(adminFromNonAdmin.status == 403)
            #expect(adminFromNonAdmin.deniedPermissions == ["admin"])
        }
    }

    @Test func aKeyCannotMintKeysThatOutliveItAndItsHeirsGoWithIt() async throws {
        try await ServerHarness.run { harness in
            let expiry = Date().addingTimeInterval(3600)
            let temporary = try await harness.createKey(["manage-keys", "view-destinations"], name: "contractor", expiresAt: expiry.formatted(.iso8601))
            let contractor = harness.client(key: temporary.key)
            // A permanent key, or one that expires later, is refused.
            for later in [nil, expiry.addingTimeInterval(60).formatted(.iso8601)] as [String?] {
                let refused = try await contractor.send(.POST, "/v1/keys", json: [
                    "name": "forever", "permissions": ["view-destinations"], "expiresAt": later.map { $0 as Any } ?? NSNull(),
                ] as [String: Any])
                #expect(refused.status == 422)
                #expect(refused.errorCode == "validation_failed")
                #expect(refused.detailFields == ["expiresAt"])
            }
            let heirAnswer = try await contractor.send(.POST, "/v1/keys", json: [
                "name": "heir", "permissions": ["view-destinations"], "expiresAt": expiry.addingTimeInterval(-60).formatted(.iso8601),
            ])
            #expect(heirAnswer.status == 201)
            let heir = try #require(heirAnswer.object["key"] as? String)
            #expect(try await harness.client(key: heir).send(.GET, "/v1/connections").status == 200)
            // Nor can it revoke a key that holds more than it does (an admin's, say).
            let stronger = try await harness.createKey(["activate-destinations"], name: "stronger")
            let lockout = try await contractor.send(.DELETE, "/v1/keys/\(stronger.id)")
            #expect(lockout.status == 403)
            #expect(lockout.deniedPermissions == ["activate-destinations"])
            #expect(try await harness.client(key: stronger.key).send(.POST, "/v1/destinations/dest_none/disable").status == 404)
            // Revoking the contractor's key revokes what it created.
            try await harness.api.expect(204, .DELETE, "/v1/keys/\(temporary.id)")
            #expect(try await harness.client(key: heir).send(.GET, "/v1/connections").status == 401)
        }
    }

    @Test func expiredAndRevokedKeysAre401FromTheNextRequestOn() async throws {
        try await ServerHarness.run { harness in
            // setup: a key whose expiry passed (written to the store as if created earlier)
            let expiredMaterial = APIKeyMaterial.generate()
            let now = Date()
            try await harness.store.createAPIKey(
                APIKey(
                    id: "key_expired", name: "expired", permissions: [.viewDestinations], keyHash: APIKeyMaterial.hash(expiredMaterial),
                    createdAt: now.addingTimeInterval(-7200), expiresAt: now.addingTimeInterval(-60)
                ),
                audit: AuditEntry(id: "aud_test", at: now, keyId: nil, keyName: nil, action: "key.create", targetId: "key_expired", before: .null, after: .null)
            )
            let live = try await harness.createKey(["view-destinations"], name: "soon revoked")
            let reader = harness.client(key: live.key)

            // run
            let expired = try await harness.client(key: expiredMaterial).send(.GET, "/v1/connections")
            let before = try await reader.send(.GET, "/v1/connections")
            try await harness.api.expect(204, .DELETE, "/v1/keys/\(live.id)")
            let after = try await reader.send(.GET, "/v1/connections")
            let listed = try await harness.api.expect(200, .GET, "/v1/keys")

            // validate
            #expect(expired.status == 401)
            #expect(expired.errorCode == "unauthorized")
            #expect(expired.errorMessage.contains("expired"))
            #expect(before.status == 200)
            #expect(after.status == 401)
            #expect(after.errorMessage.contains("revoked"))
            let shown = listed.array.first { $0["id"] as? String == live.id }
            #expect(shown?["revokedAt"] as? String != nil)
        }
    }

    @Test func keyMaterialIsShownOnceAndStoredOnlyAsAHash() async throws {
        try await ServerHarness.run { harness in
            // run
            let created = try await harness.api.send(.POST, "/v1/keys", json: [
                "name": "reps dashboard", "permissions": ["view-destinations"], "expiresAt": NSNull(),
            ] as [String: Any])
            let material = try #require(created.object["key"] as? String)
            let listed = try await harness.api.expect(200, .GET, "/v1/keys")
            let audit = try await harness.api.expect(200, .GET, "/v1/audit")

            // validate: the contract's answer
            #expect(created.status == 201)
            #expect((created.object["id"] as? String)?.hasPrefix("key_") == true)
            #expect(material.hasPrefix("sfd_"))
            #expect(created.object["name"] as? String == "reps dashboard")
            #expect(created.object["permissions"] as? [String] == ["view-destinations"])
            #expect(created.object["createdAt"] as? String != nil)
            #expect(created.object["expiresAt"] is NSNull)
            let hash = APIKeyMaterial.hash(material)
            for reply in [listed, audit] {
                #expect(!reply.text.contains(material))
                #expect(!reply.text.contains(hash))
            }
            #expect(listed.array.map { $0["name"] as? String } == ["reps dashboard"])
            #expect(!harness.logs.text.contains(material))
            // The database files (SQLite and its WAL) hold the hash, never the key.
            var onDisk = Data()
            for name in try FileManager.default.contentsOfDirectory(atPath: harness.directory.path) where name.hasPrefix("sfdest.sqlite") {
                onDisk += try Data(contentsOf: harness.directory.appendingPathComponent(name))
            }
            #expect(onDisk.range(of: Data(hash.utf8)) != nil, "the search looks at the bytes the store wrote")
            #expect(onDisk.range(of: Data(material.utf8)) == nil)
            #expect(onDisk.range(of: Data(material.dropFirst(4).utf8)) == nil)
        }
    }

    @Test func keysAreValidated() async throws {
        try await ServerHarness.run { harness in
            // run
            let unknown = try await harness.api.send(.POST, "/v1/keys", json: ["name": "x", "permissions": ["view-destinations", "fly", "swim"]])
            let nameless = try await harness.api.send(.POST, "/v1/keys", json: ["permissions": ["view-destinations"]])
            let past = try await harness.api.send(.POST, "/v1/keys", json: ["name": "x", "permissions": ["view-metrics"], "expiresAt": "2020-01-01T00:00:00Z"])
            let notATime = try await harness.api.send(.POST, "/v1/keys", json: ["name": "x", "permissions": ["view-metrics"], "expiresAt": "tomorrow"])
            let future = try await harness.api.send(.POST, "/v1/keys", json: ["name": "x", "permissions": ["view-metrics"], "expiresAt": "2099-01-01T00:00:00Z"])
            let badLimit = try await harness.api.send(.GET, "/v1/audit?limit=5000")
            let wordLimit = try await harness.api.send(.GET, "/v1/audit?limit=ten")
            let missing = try await harness.api.send(.DELETE, "/v1/keys/key_missing")

            // validate
            #expect(unknown.status == 422)
            #expect(unknown.errorCode == "validation_failed")
            #expect(unknown.detailFields == ["permissions"])
            #expect(unknown.errorMessage.contains("fly") && unknown.errorMessage.contains("swim"))
            #expect(nameless.status == 422 && nameless.detailFields == ["name"])
            #expect(past.status == 422 && past.detailFields == ["expiresAt"])
            #expect(notATime.status == 422 && notATime.detailFields == ["expiresAt"])
            #expect(future.status == 201)
            #expect(future.object["expiresAt"] as? String == "2099-01-01T00:00:00Z")
            for reply in [badLimit, wordLimit] {
                #expect(reply.status == 400)
                #expect(reply.errorMessage.contains("1 to 1000"))
            }
            #expect(missing.status == 404 && missing.errorCode == "key_not_found")
        }
    }

    @Test func metricsNeedViewMetricsUnlessPublic() async throws {
        try await ServerHarness.run { harness in
            let reader = try await harness.createKey(["view-metrics"])
            let other = try await harness.createKey(["view-destinations"])
            let anonymous = try await harness.api.send(.GET, "/metrics", authorization: .none)
            let allowed = try await harness.client(key: reader.key).send(.GET, "/metrics")
            let denied = try await harness.client(key: other.key).send(.GET, "/metrics")
            #expect(anonymous.status == 401)
            #expect(allowed.status == 200)
            #expect(allowed.text.contains("sfdest_"))
            #expect(denied.status == 403 && denied.deniedPermissions == ["view-metrics"])
        }
        try await ServerHarness.run(configure: { $0.environment["SFDEST_METRICS_PUBLIC"] = "1" }) { harness in
            let anonymous = try await harness.api.send(.GET, "/metrics", authorization: .none)
            #expect(anonymous.status == 200)
            // Public metrics open nothing else.
            #expect(try await harness.api.send(.GET, "/v1/destinations", authorization: .none).status == 401)
        }
    }
}
