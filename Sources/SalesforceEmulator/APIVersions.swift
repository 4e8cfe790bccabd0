import SfdestJSON

/// The REST API versions the org serves, from v31.0 (Summer '14) to v66.0 (Spring '26).
enum APIVersions {
    static let oldest = 31
    static let newest = 66

    /// The major version of a `vNN.N` path segment the org serves, or nil.
    static func served(_ segment: Substring) -> Int? {
        guard segment.hasPrefix("v"), segment.hasSuffix(".0"),
              let major = Int(segment.dropFirst().dropLast(2)),
              (Self.oldest...Self.newest).contains(major)
        else { return nil }
        return major
    }

    /// The release name of a version: three releases a year, v31.0 being Summer '14.
    static func label(_ major: Int) -> String {
        let step = major - 31
        let season = ["Summer", "Winter", "Spring"][step % 3]
        let year = 14 + (step + 2) / 3
        return "\(season) '\(year)"
    }

    /// `GET /services/data/`: every version, oldest first, as Salesforce lists them.
    static var listing: JSON {
        .array((Self.oldest...Self.newest).map { major in
            .object([
                ("label", .string(Self.label(major))),
                ("url", .string("/services/data/v\(major).0")),
                ("version", .string("\(major).0")),
            ])
        })
    }
}
