import Foundation

/// One profile fragment as the test sends it. Nil attributes are absent from the fragment.
struct Fragment: Sendable {
    var id: String
    var firstName: String?
    var lastName: String?
    var email: String?
    /// Audience id -> status, all qualified at `time`.
    var statuses: [String: String] = [:]
    var time: String

    /// The XDM JSON of the fragment.
    var json: [String: Any] {
        var profile: [String: Any] = ["identityMap": ["crmID": [["id": self.id]]]]
        var name: [String: Any] = [:]
        if let firstName { name["firstName"] = firstName }
        if let lastName { name["lastName"] = lastName }
        if !name.isEmpty { profile["person"] = ["name": name] }
        if let email { profile["personalEmail"] = ["address": email] }
        if !self.statuses.isEmpty {
            profile["segmentMembership"] = ["ups": self.statuses.mapValues { ["status": $0, "lastQualificationTime": self.time] }]
        }
        return profile
    }
}

/// One NDJSON body: its bytes and the fragments it carries, in line order.
struct ProfileBody: Sendable {
    let round: Int
    let index: Int
    let fragments: [Fragment]
    let data: Data

    init(round: Int, index: Int, fragments: [Fragment]) {
        self.round = round
        self.index = index
        self.fragments = fragments
        var data = Data()
        for fragment in fragments {
            // Every value is a plain string: serialization cannot fail.
            data += (try? JSONSerialization.data(withJSONObject: fragment.json, options: [.sortedKeys])) ?? Data()
            data.append(0x0A)
        }
        self.data = data
    }
}

/// What Salesforce must hold for one record, computed by the test alone (not with the product's
/// code) from the fragments accepted so far: attributes last write wins, audience statuses newest
/// qualification wins (every round qualifies later than the previous one).
struct ExpectedRecord: Sendable, Equatable {
    var firstName: String?
    var lastName: String?
    var email: String?
    var statuses: [String: String] = [:]
    var statusTimes: [String: String] = [:]

    mutating func apply(_ fragment: Fragment) {
        if let value = fragment.firstName { self.firstName = value }
        if let value = fragment.lastName { self.lastName = value }
        if let value = fragment.email { self.email = value }
        for (audience, status) in fragment.statuses where (self.statusTimes[audience] ?? "") <= fragment.time {
            self.statuses[audience] = status
            self.statusTimes[audience] = fragment.time
        }
    }

    /// The record's fields as the destination's mappings must leave them: `seg-gold` alone in
    /// `crm_1_seg__c`; `seg-a` and `seg-b` sharing `crm_2_seg__c`, one `id:status` line each,
    /// sorted by audience id.
    var fields: [(name: String, value: String?)] {
        let shared = ["seg-a", "seg-b"].compactMap { audience in self.statuses[audience].map { "\(audience):\($0)" } }
        return [
            ("FirstName", self.firstName),
            ("LastName", self.lastName),
            ("Email", self.email),
            ("crm_1_seg__c", self.statuses["seg-gold"]),
            ("crm_2_seg__c", shared.isEmpty ? nil : shared.joined(separator: "\n")),
        ]
    }
}

/// The expected state of every record, updated as bodies are accepted.
struct ExpectedOrg: Sendable {
    private(set) var records: [String: ExpectedRecord] = [:]
    private(set) var profilesAccepted = 0

    mutating func accept(_ body: ProfileBody) {
        for fragment in body.fragments {
            self.records[fragment.id, default: ExpectedRecord()].apply(fragment)
        }
        self.profilesAccepted += body.fragments.count
    }
}

/// Rounds of changes over the same identities. Within a round, a body holds disjoint identities
/// (apart from deliberate repeats inside one body), so the bodies of one round may be in flight
/// together; rounds are sent one after another, so the later round's values must win.
enum ProfileRounds {
    static let times = ["2026-11-20T10:00:00Z", "2026-11-20T11:00:00Z", "2026-11-20T12:00:00Z", "2026-11-20T13:00:00Z", "2026-11-20T14:00:00Z"]

    /// Groups of lines that must stay in one body, in order.
    static func units(round: Int, ids: [String]) -> [[Fragment]] {
        let time = Self.times[round]
        var units: [[Fragment]] = []
        for (i, id) in ids.enumerated() {
            switch round {
            case 0:
                // Everyone: full profile.
                var statuses = ["seg-gold": "realized"]
                if i % 2 == 0 { statuses["seg-a"] = "realized" }
                if i % 3 == 0 { statuses["seg-b"] = "existing" }
                units.append([Fragment(id: id, firstName: "F\(i)r0", lastName: "L\(i)r0", email: "p\(i).r0@example.com", statuses: statuses, time: time)])
            case 1:
                // 40%: new last name and email, audience changes.
                guard i % 5 < 2 else { continue }
                var statuses = ["seg-gold": i % 5 == 0 ? "existing" : "exited"]
                if i % 2 == 0 { statuses["seg-a"] = "exited" }
                units.append([Fragment(id: id, lastName: "L\(i)r1", email: "p\(i).r1@example.com", statuses: statuses, time: time)])
            case 2:
                // ~43%: new first name, seg-b realized; a quarter of them a new last name too.
                guard i % 7 < 3 else { continue }
                units.append([Fragment(id: id, firstName: "F\(i)r2", lastName: i % 4 == 0 ? "L\(i)r2" : nil, statuses: ["seg-b": "realized"], time: time)])
            case 3:
                // A third: new email, back to realized; some repeated later in the same body with
                // another last name (the later line must win).
                guard i % 3 == 1 else { continue }
                var unit = [Fragment(id: id, lastName: "L\(i)r3", email: "p\(i).r3@example.com", statuses: ["seg-gold": "realized"], time: time)]
                if i % 9 == 1 { unit.append(Fragment(id: id, lastName: "L\(i)r3b", time: time)) }
                units.append(unit)
            default:
                // ~9%: back to the values of round 0 (values Salesforce acknowledged before: the
                // change back must still be sent), and seg-a realized again.
                guard i % 11 == 0 else { continue }
                units.append([Fragment(id: id, firstName: "F\(i)r0", lastName: "L\(i)r0", email: "p\(i).r0@example.com", statuses: ["seg-a": "realized"], time: time)])
            }
        }
        return units
    }

    /// The bodies of one round, about `linesPerBody` lines each.
    static func bodies(round: Int, ids: [String], linesPerBody: Int = 250) -> [ProfileBody] {
        var bodies: [ProfileBody] = []
        var current: [Fragment] = []
        var repeats: [Fragment] = []
        func flush() {
            guard !current.isEmpty || !repeats.isEmpty else { return }
            bodies.append(ProfileBody(round: round, index: bodies.count, fragments: current + repeats))
            current = []
            repeats = []
        }
        for unit in Self.units(round: round, ids: ids) {
            current.append(unit[0])
            repeats.append(contentsOf: unit.dropFirst())
            if current.count + repeats.count >= linesPerBody { flush() }
        }
        flush()
        return bodies
    }
}
