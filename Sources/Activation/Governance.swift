/// A data usage label, as the original platform names them: contract labels (`C1`..`C12`),
/// identity labels (`I1`, `I2`) and sensitive labels (`S1`, `S2`).
public enum DataUsageLabel: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case c1 = "C1", c2 = "C2", c3 = "C3", c4 = "C4", c5 = "C5", c6 = "C6"
    case c7 = "C7", c8 = "C8", c9 = "C9", c10 = "C10", c11 = "C11", c12 = "C12"
    case i1 = "I1", i2 = "I2", s1 = "S1", s2 = "S2"

    /// What the label says of the data it is on.
    public var meaning: String {
        switch self {
        case .c1: return "may leave only in aggregate, without individual or device identifiers"
        case .c2: return "must not be exported to a third party"
        case .c3: return "must not be combined with directly identifiable information"
        case .c4: return "must not be used for targeting ads or content, on-site or cross-site"
        case .c5: return "must not be used for interest-based, cross-site targeting of content or ads"
        case .c6: return "must not be used for on-site ad targeting"
        case .c7: return "must not be used for on-site targeting of content"
        case .c8: return "must not be used to measure websites or apps"
        case .c9: return "must not be used in data science workflows"
        case .c10: return "must not be used for stitched identity activation"
        case .c11: return "must not be shared with segment match partners"
        case .c12: return "must not be exported in any way"
        case .i1: return "directly identifies a person"
        case .i2: return "indirectly identifies a person or device"
        case .s1: return "is a precise geolocation"
        case .s2: return "is a broad geolocation"
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        Self.allCases.firstIndex(of: lhs)! < Self.allCases.firstIndex(of: rhs)!
    }
}

/// What a destination does with the data it receives, as policies name it.
public enum MarketingAction: String, Sendable, Hashable, Codable, CaseIterable {
    /// The data leaves for a third party's system (every CRM destination does this).
    case exportToThirdParty
    /// The data targets content or ads across sites.
    case crossSiteTargeting
    case onsiteAdvertising
    case onsitePersonalization
    case emailTargeting
    case combineWithPII
    case dataScience
    case analytics
    case segmentMatch

    /// What a destination does unless a person says otherwise: a CRM is a third party.
    public static let defaults: [MarketingAction] = [.exportToThirdParty]
}

/// A policy: data with one of `labels` must not be used for one of `actions` (nil: for any).
public struct DataUsagePolicy: Sendable, Hashable {
    public var id: String
    public var name: String
    public var labels: Set<DataUsageLabel>
    public var actions: Set<MarketingAction>?

    public func blocks(_ label: DataUsageLabel, for action: MarketingAction) -> Bool {
        self.labels.contains(label) && (self.actions?.contains(action) ?? true)
    }

    /// The core policies: C2 and C12 data is never exported to a third party, C12 data is used
    /// for nothing at all, C4 and C5 data never targets across sites.
    public static let core: [DataUsagePolicy] = [
        DataUsagePolicy(id: "noThirdPartyExport", name: "Restrict data export to third parties", labels: [.c2], actions: [.exportToThirdParty]),
        DataUsagePolicy(id: "noExport", name: "Restrict every use of the data", labels: [.c12], actions: nil),
        DataUsagePolicy(id: "noCrossSiteTargeting", name: "Restrict cross-site targeting", labels: [.c4, .c5], actions: [.crossSiteTargeting]),
    ]
}

/// The labels put on one source: an attribute path (covering every path under it) or an
/// identity namespace.
public struct SourceLabels: Sendable, Hashable {
    public var source: MappingSource
    public var labels: [DataUsageLabel]

    public init(source: MappingSource, labels: [DataUsageLabel]) {
        self.source = source
        self.labels = labels
    }

    /// Whether the labels reach `mapped`: the same source, or an attribute path under this one
    /// (a label on `xdm:person.name` covers `xdm:person.name.lastName`).
    public func covers(_ mapped: MappingSource) -> Bool {
        switch (self.source, mapped) {
        case (.identity(let labelled), .identity(let namespace)): return labelled == namespace
        case (.attribute(let labelled), .attribute(let path)): return path == labelled || path.hasPrefix(labelled + ".")
        default: return false
        }
    }

    /// Parses the contract's form (`{"source": "xdm:personalEmail.address", "labels": ["C2"]}`),
    /// every problem at once; labels come back sorted, once each.
    public init(source: String, labels: [String]) throws(ConfigurationProblems) {
        var problems: [ConfigurationProblem] = []
        let parsed = Mapping.parseSource(source, problems: &problems)
        var known: Set<DataUsageLabel> = []
        for (index, text) in labels.enumerated() {
            if let label = DataUsageLabel(rawValue: text.uppercased()) {
                known.insert(label)
            } else {
                let names = DataUsageLabel.allCases.map(\.rawValue).joined(separator: ", ")
                problems.append(ConfigurationProblem(field: "labels[\(index)]", message: "'\(text)' is not a label: use one of \(names)"))
            }
        }
        guard let parsed, problems.isEmpty else { throw ConfigurationProblems(problems) }
        self.init(source: parsed, labels: known.sorted())
    }
}

/// A mapped source whose label a policy forbids for one of the destination's actions.
public struct PolicyViolation: Sendable, Hashable, CustomStringConvertible {
    public var policy: DataUsagePolicy
    public var label: DataUsageLabel
    public var action: MarketingAction
    /// The mapped source and target, in the contract's text form.
    public var source: String
    public var target: String
    /// Where the label is put (the source itself or a path above it).
    public var labelledSource: String
    /// The mapping's place in the destination's list.
    public var mappingIndex: Int

    public var description: String {
        let labelled = self.labelledSource == self.source ? "" : " (labelled on \(self.labelledSource))"
        return "\(self.source) -> \(self.target): its label \(self.label.rawValue)\(labelled) says the data \(self.label.meaning), "
            + "and policy \(self.policy.id) (\(self.policy.name)) forbids \(self.action.rawValue), which this destination does; "
            + "remove the mapping, or the label if it is wrong"
    }
}

/// Policy enforcement at activation. Pure: the labels and the destination's settings in, the
/// violations out.
public enum Governance {
    /// Every violation of `policies` by a destination that maps `mappings` and does `actions`, in
    /// mapping order; one per mapping, label, action and policy.
    public static func violations(
        mappings: [Mapping], actions: [MarketingAction], labels: [SourceLabels], policies: [DataUsagePolicy] = DataUsagePolicy.core
    ) -> [PolicyViolation] {
        var found: [PolicyViolation] = []
        for (index, mapping) in mappings.enumerated() {
            for labelled in labels where labelled.covers(mapping.source) {
                for label in labelled.labels {
                    for action in actions {
                        for policy in policies where policy.blocks(label, for: action) {
                            let violation = PolicyViolation(
                                policy: policy, label: label, action: action, source: mapping.source.text, target: mapping.target.text,
                                labelledSource: labelled.source.text, mappingIndex: index
                            )
                            if !found.contains(violation) { found.append(violation) }
                        }
                    }
                }
            }
        }
        return found
    }

    /// The consent attribute read unless a destination names another.
    public static let defaultConsentPath = "consents.share.val"

    /// Whether a profile refused sharing: its consent value is `n`, or `dn` (no by default).
    public static func refusesConsent(_ profile: Profile, path: String) -> Bool {
        guard let value = profile.attributes[path]?.text?.lowercased() else { return false }
        return value == "n" || value == "dn"
    }
}
