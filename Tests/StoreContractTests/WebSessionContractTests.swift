import Foundation
import Store
import Testing

/// The web UI's sessions, the same on every backend: kept by their id's hash, bounded per key and
/// in all, ended when idle or too old, and their next-page messages sealed and shown once.
@Suite("Store contract: web UI sessions")
struct WebSessionContractTests {
    typealias Q = DeliveryQueueContractTests

    static func session(_ n: Int, key: String, at: Date) -> WebSession {
        WebSession(idHash: "h\(n)", keyHash: key, keyName: "name-\(key)", createdAt: at, lastSeenAt: at)
    }

    @Test(arguments: Backend.available)
    func sessionsAreBoundedPerKeyAndInAllAndEndWhenIdleOrTooOld(_ backend: Backend) async throws {
        try await backend.withStore { store in
            let t = Q.t0
            let long = t.addingTimeInterval(-86_400)
            // Three sessions of key a, at most two per key: the oldest of a goes, b's stays.
            try await store.createWebSession(Self.session(0, key: "b", at: t), perKey: 2, total: 10, idleBefore: long, createdBefore: long)
            for n in 1...3 {
                try await store.createWebSession(Self.session(n, key: "a", at: t.addingTimeInterval(Double(n))), perKey: 2, total: 10, idleBefore: long, createdBefore: long)
            }
            #expect(try await store.webSession(idHash: "h1") == nil)
            #expect(try await store.webSession(idHash: "h2") != nil)
            #expect(try await store.webSession(idHash: "h3") != nil)
            #expect(try await store.webSession(idHash: "h0") == Self.session(0, key: "b", at: t))
            // Used later: the least recently used goes first when the total is reached.
            try await store.touchWebSession(idHash: "h0", at: t.addingTimeInterval(10))
            try await store.createWebSession(Self.session(4, key: "c", at: t.addingTimeInterval(11)), perKey: 2, total: 3, idleBefore: long, createdBefore: long)
            #expect(try await store.webSession(idHash: "h2") == nil, "the least recently used session of all")
            #expect(try await store.webSession(idHash: "h0")?.lastSeenAt == t.addingTimeInterval(10))
            #expect(try await store.webSession(idHash: "h4") != nil)
            // Idle since before, or created before, the bounds a sign-in gives: ended.
            try await store.createWebSession(
                Self.session(5, key: "d", at: t.addingTimeInterval(20)), perKey: 2, total: 10,
                idleBefore: t.addingTimeInterval(5), createdBefore: t.addingTimeInterval(2)
            )
            #expect(try await store.webSession(idHash: "h3") == nil, "idle since 3 s, before the 5 s bound")
            #expect(try await store.webSession(idHash: "h0") == nil, "created at 0 s, before the 2 s bound")
            #expect(try await store.webSession(idHash: "h4") != nil)
            #expect(try await store.webSession(idHash: "h5") != nil)
        }
    }

    @Test(arguments: Backend.available)
    func messagesAreShownOnceInOrderTheNewestKeptAndGoWithTheirSession(_ backend: Backend) async throws {
        try await backend.withStore { store in
            let long = Q.t0.addingTimeInterval(-86_400)
            try await store.createWebSession(Self.session(1, key: "a", at: Q.t0), perKey: 5, total: 10, idleBefore: long, createdBefore: long)
            for n in 1...4 { try await store.addWebFlash(idHash: "h1", message: Data("m\(n)".utf8), keep: 3) }
            // No session, no message.
            try await store.addWebFlash(idHash: "h9", message: Data("lost".utf8), keep: 3)
            #expect(try await store.takeWebFlashes(idHash: "h1") == ["m2", "m3", "m4"].map { Data($0.utf8) })
            #expect(try await store.takeWebFlashes(idHash: "h1").isEmpty)
            #expect(try await store.takeWebFlashes(idHash: "h9").isEmpty)
            try await store.addWebFlash(idHash: "h1", message: Data("m5".utf8), keep: 3)
            try await store.endWebSession(idHash: "h1")
            #expect(try await store.webSession(idHash: "h1") == nil)
            #expect(try await store.takeWebFlashes(idHash: "h1").isEmpty)
        }
    }
}
