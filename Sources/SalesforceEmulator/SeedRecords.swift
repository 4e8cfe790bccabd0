import SfdestJSON

/// Plausible people for seeding the org, deterministic by position so large seeds stay cheap.
enum SeedRecords {
    private static let firstNames = [
        "Ada", "Grace", "Alan", "Katherine", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances",
        "Edsger", "Radia", "Donald", "Hedy", "Tim", "Sophie", "John", "Joan", "Niklaus", "Anita",
    ]
    private static let lastNames = [
        "Lovelace", "Hopper", "Turing", "Johnson", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson", "Allen",
        "Dijkstra", "Perlman", "Knuth", "Lamarr", "Berners-Lee", "Wilson", "McCarthy", "Clarke", "Wirth", "Borg",
    ]
    private static let titles = ["Engineer", "Director", "VP Marketing", "Analyst", "CTO", "Buyer", "Consultant"]
    private static let companies = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark Industries", "Wayne Enterprises"]

    /// A number written with at least four digits.
    private static func fourDigits(_ number: Int) -> String {
        let digits = String(number)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// Field values of the `index`-th generated record of `schema`.
    static func fields(for schema: SObjectSchema, index: Int) -> [String: JSON] {
        let first = Self.firstNames[index % Self.firstNames.count]
        let last = Self.lastNames[(index / Self.firstNames.count) % Self.lastNames.count]
        var fields: [String: JSON] = [
            "FirstName": .string(first),
            "LastName": .string(last),
            "Email": .string("\(first.lowercased()).\(last.lowercased())\(index)@example.com"),
            "Phone": .string("+1 415 555 \(Self.fourDigits(index % 10_000))"),
            "Title": .string(Self.titles[index % Self.titles.count]),
        ]
        if schema.field(named: "Company") != nil {
            fields["Company"] = .string(Self.companies[index % Self.companies.count])
        }
        return fields
    }
}
