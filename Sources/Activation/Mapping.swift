/// Where a mapped value comes from in a profile.
public enum MappingSource: Hashable, Sendable {
    /// `identityMap:NS`: the first identity of a namespace.
    case identity(namespace: String)
    /// `xdm:path`: an attribute at a dotted XDM path.
    case attribute(path: String)

    public var text: String {
        switch self {
        case .identity(let namespace): return "identityMap:\(namespace)"
        case .attribute(let path): return "xdm:\(path)"
        }
    }

    /// Parses the contract's text form (`xdm:person.name.lastName`, `identityMap:crmID`).
    public init(text: String) throws(ConfigurationProblems) {
        var problems: [ConfigurationProblem] = []
        guard let source = Mapping.parseSource(text, problems: &problems) else { throw ConfigurationProblems(problems) }
        self = source
    }
}

/// Where a mapped value goes in Salesforce.
public enum MappingTarget: Hashable, Sendable {
    /// `identity:SalesforceId`: the record Id the update is addressed to.
    case salesforceId
    /// `identity:ExternalId:Field__c`: an external Id field the upsert matches records by (an
    /// upsert destination's key; the record is created when no record has the value).
    case externalId(String)
    /// `attribute:Field`: a field of the object, by API name.
    case field(String)

    public var text: String {
        switch self {
        case .salesforceId: return "identity:SalesforceId"
        case .externalId(let field): return "identity:ExternalId:\(field)"
        case .field(let name): return "attribute:\(name)"
        }
    }
}

/// One mapping line of a destination: a profile source to a Salesforce target.
public struct Mapping: Hashable, Sendable {
    public var source: MappingSource
    public var target: MappingTarget

    public init(source: MappingSource, target: MappingTarget) {
        self.source = source
        self.target = target
    }

    /// Parses the contract's text form (`identityMap:crmID` -> `identity:SalesforceId`).
    public init(source: String, target: String) throws(ConfigurationProblems) {
        var problems: [ConfigurationProblem] = []
        let parsedSource = Self.parseSource(source, problems: &problems)
        let parsedTarget = Self.parseTarget(target, problems: &problems)
        guard let parsedSource, let parsedTarget, problems.isEmpty else { throw ConfigurationProblems(problems) }
        self.init(source: parsedSource, target: parsedTarget)
    }

    static func parseSource(_ text: String, problems: inout [ConfigurationProblem]) -> MappingSource? {
        if let namespace = text.dropPrefix("identityMap:") {
            guard FieldName.isIdentifier(namespace) else {
                problems.append(.init(field: "source", message: "'\(text)': the identity namespace must be letters, digits or underscores, such as identityMap:crmID"))
                return nil
            }
            return .identity(namespace: namespace)
        }
        if let path = text.dropPrefix("xdm:") {
            let segments = path.split(separator: ".", omittingEmptySubsequences: false)
            guard !path.isEmpty, segments.allSatisfy({ !$0.isEmpty && !$0.contains(where: \.isWhitespace) }) else {
                problems.append(.init(field: "source", message: "'\(text)': an XDM path is dot-separated names without spaces, such as xdm:person.name.lastName"))
                return nil
            }
            return .attribute(path: path)
        }
        problems.append(.init(field: "source", message: "'\(text)' must start with identityMap: or xdm:"))
        return nil
    }

    static func parseTarget(_ text: String, problems: inout [ConfigurationProblem]) -> MappingTarget? {
        if let identity = text.dropPrefix("identity:") {
            if let field = identity.dropPrefix("ExternalId:") {
                guard FieldName.isFieldAPIName(field) else {
                    problems.append(.init(field: "target", message: "'\(text)': the external Id field must be its exact API name, such as identity:ExternalId:Sfdest_Key__c"))
                    return nil
                }
                return .externalId(field)
            }
            guard identity == "SalesforceId" else {
                problems.append(.init(field: "target", message: "'\(text)': an identity target is identity:SalesforceId (update) or identity:ExternalId:Field__c (upsert)"))
                return nil
            }
            return .salesforceId
        }
        if let field = text.dropPrefix("attribute:") {
            guard FieldName.isFieldAPIName(field) else {
                problems.append(.init(field: "target", message: "'\(text)': the target must be the field's exact API name, such as attribute:LastName or attribute:Score__c"))
                return nil
            }
            return .field(field)
        }
        problems.append(.init(field: "target", message: "'\(text)' must start with identity: or attribute:"))
        return nil
    }
}

/// One problem in a configuration a user sent, located by the field it is about.
public struct ConfigurationProblem: Hashable, Sendable, CustomStringConvertible {
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(self.field): \(self.message)" }

    /// The same problem, located inside a list (`[2].target`).
    public func at(index: Int) -> ConfigurationProblem {
        ConfigurationProblem(field: "[\(index)].\(self.field)", message: self.message)
    }
}

/// Every problem found in a configuration, so a user can fix them all at once.
public struct ConfigurationProblems: Error, Hashable, Sendable, CustomStringConvertible {
    public var problems: [ConfigurationProblem]

    public init(_ problems: [ConfigurationProblem]) {
        self.problems = problems
    }

    public var description: String { self.problems.map(\.description).joined(separator: "; ") }
}

/// Names of Salesforce fields and identifiers.
public enum FieldName {
    /// Letters, digits and underscores, starting with a letter.
    static func isIdentifier(_ text: some StringProtocol) -> Bool {
        guard let first = text.unicodeScalars.first, first.isASCIILetter else { return false }
        return text.unicodeScalars.allSatisfy { $0.isASCIILetter || $0.isASCIIDigit || $0 == "_" }
    }

    /// A standard field (`LastName`) or a custom one (`Score__c`): at most 40 characters before `__c`.
    public static func isFieldAPIName(_ text: String) -> Bool {
        if let base = text.dropSuffix("__c") {
            return Self.customFieldBaseProblem(base) == nil
        }
        return Self.isIdentifier(text) && !text.contains("__") && text.count <= 40
    }

    /// What is wrong with the part of a custom field's API name before `__c`, or nil.
    public static func customFieldBaseProblem(_ base: String) -> String? {
        if base.isEmpty { return "the name is empty" }
        if base.contains(where: \.isWhitespace) { return "it contains spaces (use _ instead)" }
        if !base.unicodeScalars.allSatisfy({ $0.isASCIILetter || $0.isASCIIDigit || $0 == "_" }) {
            return "it may contain only letters A-Z, digits and underscores"
        }
        if !(base.unicodeScalars.first?.isASCIILetter ?? false) { return "it must start with a letter" }
        if base.hasSuffix("_") { return "it must not end with an underscore" }
        if base.contains("__") { return "it must not contain two underscores in a row" }
        if base.count > 40 { return "it has \(base.count) characters before __c; Salesforce allows at most 40" }
        return nil
    }
}

extension Unicode.Scalar {
    var isASCIILetter: Bool { (self >= "a" && self <= "z") || (self >= "A" && self <= "Z") }
    var isASCIIDigit: Bool { self >= "0" && self <= "9" }
}

extension String {
    func dropPrefix(_ prefix: String) -> String? {
        self.hasPrefix(prefix) ? String(self.dropFirst(prefix.count)) : nil
    }

    func dropSuffix(_ suffix: String) -> String? {
        self.hasSuffix(suffix) ? String(self.dropLast(suffix.count)) : nil
    }
}
