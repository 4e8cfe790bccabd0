/// The mapping sources a set of stored profiles offers (`identityMap:crmID`, `xdm:person.name.lastName`),
/// each with how many of the profiles have it and a few of their values: what a person maps from.
public struct SourceSuggestion: Sendable, Hashable {
    /// The source as a mapping names it.
    public var source: String
    /// How many of the profiles read have a value there.
    public var profiles: Int
    /// Up to `SourceSuggestion.maxSamples` distinct values, first seen first, each cut to
    /// `maxSampleLength` characters.
    public var samples: [String]

    public static let maxSamples = 3
    public static let maxSampleLength = 60

    /// The sources of `profiles`: the most common first, then by name.
    public static func from(_ profiles: [Profile]) -> [SourceSuggestion] {
        var found: [String: SourceSuggestion] = [:]
        func add(_ source: String, _ value: String?) {
            var suggestion = found[source] ?? SourceSuggestion(source: source, profiles: 0, samples: [])
            suggestion.profiles += 1
            if let value, !value.isEmpty, suggestion.samples.count < Self.maxSamples {
                let sample = value.count > Self.maxSampleLength ? String(value.prefix(Self.maxSampleLength - 1)) + "…" : value
                if !suggestion.samples.contains(sample) { suggestion.samples.append(sample) }
            }
            found[source] = suggestion
        }
        for profile in profiles {
            for (namespace, values) in profile.identities where !values.isEmpty {
                add(MappingSource.identity(namespace: namespace).text, values.first)
            }
            for (path, value) in profile.attributes where !value.isEmpty {
                add(MappingSource.attribute(path: path).text, value.text)
            }
        }
        return found.values.sorted { ($0.profiles, $1.source) > ($1.profiles, $0.source) }
    }
}
