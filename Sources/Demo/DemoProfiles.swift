import Foundation
import SfdestBasics

/// The demo's generated profiles and, computed independently of the product's own code, what
/// Salesforce must hold for each of them afterwards.
struct DemoProfiles {
    struct Person {
        var recordId: String
        var firstName: String
        var lastName: String
        var email: String
        /// segment id -> (status, lastQualificationTime)
        var memberships: [String: (String, String)]
        /// True for profiles whose Id belongs to a Lead: the Contact destination must exclude them.
        var isLead: Bool
    }

    static let firstNames = ["Ada", "Grace", "Alan", "Radia", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Tim", "Hedy"]
    static let lastNames = ["Lovelace", "Hopper", "Turing", "Perlman", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton", "Berners-Lee", "Lamarr"]
    static let ownSegment = "seg-gold"
    static let sharedSegments = ["seg-active", "seg-churn"]

    var people: [Person] = []

    /// `contactIds.count` contact profiles (about 5% in no audience) and one profile per Lead Id.
    init(contactIds: [String], leadIds: [String]) {
        var random = SeededGenerator(seed: 20_261_126)
        for (index, id) in contactIds.enumerated() {
            let first = Self.firstNames[Int(random.next() % UInt64(Self.firstNames.count))]
            let last = Self.lastNames[Int(random.next() % UInt64(Self.lastNames.count))]
            var memberships: [String: (String, String)] = [:]
            if random.next() % 100 >= 5 {
                let day = 20 + Int(random.next() % 6)
                let time = "2026-11-\(day)T\(10 + index % 10):00:00Z"
                if random.next() % 2 == 0 { memberships[Self.ownSegment] = (random.next() % 2 == 0 ? "realized" : "existing", time) }
                if random.next() % 10 < 6 { memberships["seg-active"] = (random.next() % 3 == 0 ? "existing" : "realized", time) }
                if random.next() % 10 < 3 { memberships["seg-churn"] = (random.next() % 2 == 0 ? "exited" : "realized", time) }
                if memberships.isEmpty { memberships["seg-active"] = ("realized", time) }
            }
            self.people.append(Person(
                recordId: id, firstName: first, lastName: "\(last)-\(index)",
                email: "\(first.lowercased()).\(last.lowercased())\(index)@example.com", memberships: memberships, isLead: false
            ))
        }
        for (index, id) in leadIds.enumerated() {
            self.people.append(Person(
                recordId: id, firstName: "Lead", lastName: "Prospect-\(index)", email: "lead\(index)@example.com",
                memberships: [Self.ownSegment: ("realized", "2026-11-20T10:00:00Z")], isLead: true
            ))
        }
    }

    /// The profile as a customer-data platform exports it (one NDJSON line).
    static func xdm(_ person: Person) -> [String: Any] {
        var ups: [String: Any] = [:]
        for (segment, (status, time)) in person.memberships {
            ups[segment] = ["status": status, "lastQualificationTime": time]
        }
        return [
            "identityMap": ["crmID": [["id": person.recordId]]],
            "person": ["name": ["firstName": person.firstName, "lastName": person.lastName]],
            "personalEmail": ["address": person.email],
            "segmentMembership": ["ups": ups],
        ]
    }

    /// What the Contact must hold once delivered; nil when the profile is none of the destination's business.
    static func expectedFields(_ person: Person) -> [String: String?]? {
        guard !person.memberships.isEmpty, !person.isLead else { return nil }
        let shared = Self.sharedSegments.compactMap { segment in person.memberships[segment].map { "\(segment):\($0.0)" } }
        return [
            "FirstName": person.firstName,
            "LastName": person.lastName,
            "Email": person.email,
            "crm_1_seg__c": person.memberships[Self.ownSegment]?.0,
            "crm_2_seg__c": shared.isEmpty ? nil : shared.joined(separator: "\n"),
        ]
    }
}

