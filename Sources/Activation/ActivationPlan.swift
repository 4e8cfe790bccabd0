/// How a destination writes its records; the raw values are the contract's `operation` words.
public enum DestinationOperation: String, Sendable, Hashable, Codable, CaseIterable {
    /// Updates records that already exist, addressed by their Salesforce Id (`identity:SalesforceId`).
    case update
    /// Creates or updates records matched by an external Id field (`identity:ExternalId:Field__c`):
    /// a retried request can never create a second record.
    case upsert
}

/// What addresses a destination's records, and so keys its queue.
public enum RecordKeying: Sendable, Hashable {
    /// The Salesforce Id, from the first identity of a namespace that is an Id of the object.
    case salesforceId(namespace: String)
    /// The value of `source`, matched against the external Id field `field`.
    case externalId(field: String, source: MappingSource)
}

/// A destination's activation rules, compiled: turns a profile into the record the destination
/// wants in Salesforce, or into the reason it is excluded. Pure: no I/O.
public struct ActivationPlan: Sendable {
    public let objectType: SalesforceObjectType
    public let operation: DestinationOperation
    /// What addresses the records: the Salesforce Id (update) or an external Id value (upsert).
    public let keying: RecordKeying
    /// Attribute path -> field API name, in mapping order.
    public let attributeMappings: [(path: String, field: String)]
    /// Each audience status field with the audiences written into it, sorted by segment id.
    public let audienceFields: [(field: String, audiences: [AudienceSchedule])]
    /// The org's fields by API name, from describe (empty when not known yet).
    public let fields: [String: SalesforceField]
    /// The attribute whose value says whether the profile consents to sharing (nil: not checked).
    public let consentPath: String?
    private let scheduledSegments: Set<String>

    /// The identity namespace whose identity is the Salesforce record Id (update destinations).
    public var identityNamespace: String? {
        if case .salesforceId(let namespace) = self.keying { return namespace }
        return nil
    }

    /// The external Id field an upsert matches by (upsert destinations).
    public var externalIdField: String? {
        if case .externalId(let field, _) = self.keying { return field }
        return nil
    }

    /// Compiles mappings and audiences; throws every configuration problem at once.
    public init(
        objectType: SalesforceObjectType,
        operation: DestinationOperation = .update,
        mappings: [Mapping],
        audiences: [AudienceSchedule],
        fields: [SalesforceField] = [],
        consentPath: String? = Governance.defaultConsentPath
    ) throws(ConfigurationProblems) {
        var problems: [ConfigurationProblem] = []
        var keying: RecordKeying?
        var attributeMappings: [(path: String, field: String)] = []
        var targets: Set<String> = []
        for (index, mapping) in mappings.enumerated() {
            switch (mapping.source, mapping.target) {
            case (.identity(let ns), .salesforceId):
                if operation == .upsert {
                    problems.append(ConfigurationProblem(field: "target", message: "an upsert destination matches records by identity:ExternalId:Field__c, not identity:SalesforceId").at(index: index))
                } else if keying != nil {
                    problems.append(ConfigurationProblem(field: "target", message: "identity:SalesforceId is mapped more than once").at(index: index))
                } else {
                    keying = .salesforceId(namespace: ns)
                }
            case (.attribute, .salesforceId):
                problems.append(ConfigurationProblem(field: "source", message: "identity:SalesforceId must come from an identity namespace (identityMap:NS)").at(index: index))
            case (let source, .externalId(let field)):
                if operation == .update {
                    problems.append(ConfigurationProblem(field: "target", message: "identity:ExternalId:\(field) needs \"operation\": \"upsert\" on the destination; an update destination addresses records by identity:SalesforceId").at(index: index))
                } else if keying != nil {
                    problems.append(ConfigurationProblem(field: "target", message: "an upsert destination has one identity:ExternalId mapping").at(index: index))
                } else {
                    keying = .externalId(field: field, source: source)
                }
                if !targets.insert(field).inserted {
                    problems.append(ConfigurationProblem(field: "target", message: "\(field) is mapped more than once").at(index: index))
                }
            case (.attribute(let path), .field(let field)):
                if !targets.insert(field).inserted {
                    problems.append(ConfigurationProblem(field: "target", message: "\(field) is mapped more than once").at(index: index))
                }
                attributeMappings.append((path, field))
            case (.identity, .field):
                problems.append(ConfigurationProblem(field: "source", message: "an identity namespace can only map to identity:SalesforceId or identity:ExternalId:Field__c").at(index: index))
            }
        }
        if keying == nil {
            switch operation {
            case .update:
                problems.append(ConfigurationProblem(field: "mappings", message: "the identity mapping identityMap:<namespace> -> identity:SalesforceId is required: records are updated by their Salesforce Id"))
            case .upsert:
                problems.append(ConfigurationProblem(field: "mappings", message: "an upsert destination needs one mapping to identity:ExternalId:Field__c (such as identityMap:email -> identity:ExternalId:Sfdest_Key__c): records are matched, or created, by that external Id"))
            }
        }
        for required in objectType.requiredFields where !targets.contains(required) {
            problems.append(ConfigurationProblem(field: "mappings", message: "\(required) is required on \(objectType.rawValue) and must be mapped"))
        }
        var byField: [String: [AudienceSchedule]] = [:]
        var segments: Set<String> = []
        for (index, audience) in audiences.enumerated() {
            if !segments.insert(audience.segmentId).inserted {
                problems.append(ConfigurationProblem(field: "segmentId", message: "\(audience.segmentId) is scheduled more than once").at(index: index))
            }
            if targets.contains(audience.fieldName) {
                problems.append(ConfigurationProblem(field: "mappingId", message: "\(audience.fieldName) is also the target of an attribute mapping").at(index: index))
            }
            byField[audience.fieldName, default: []].append(audience)
        }
        if byField.count > Self.maxAudienceFields {
            problems.append(ConfigurationProblem(field: "segments", message: "\(byField.count) Mapping ID fields; Salesforce allows at most \(Self.maxAudienceFields) per object, so share fields between audiences"))
        }
        guard problems.isEmpty, let keying else { throw ConfigurationProblems(problems) }
        self.objectType = objectType
        self.operation = operation
        self.keying = keying
        self.attributeMappings = attributeMappings
        self.audienceFields = byField.keys.sorted().map { field in
            (field, byField[field, default: []].sorted { $0.segmentId < $1.segmentId })
        }
        self.fields = Dictionary(fields.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.scheduledSegments = segments
        self.consentPath = consentPath
    }

    /// At most this many audience status fields per destination (Salesforce's limit per object).
    public static let maxAudienceFields = 25

    /// Whether this destination receives the profile: it has a membership in one of its audiences.
    public func receives(_ profile: Profile) -> Bool {
        profile.memberships.keys.contains { self.scheduledSegments.contains($0) }
    }

    /// What this destination wants for a profile.
    public func evaluate(_ profile: Profile) -> ActivationOutcome {
        guard self.receives(profile) else { return .notReceived }
        let key: String
        switch self.key(of: profile) {
        case .success(let value): key = value
        case .failure(let exclusion): return .excluded(exclusion)
        }
        if let path = self.consentPath, Governance.refusesConsent(profile, path: path) {
            return .excluded(Exclusion(code: .consentRefused, message: "the profile refused sharing (\(path) is \(profile.attributes[path]?.text ?? "")): nothing of it is sent until it consents", recordId: key, field: nil))
        }
        var values: [String: FieldValue] = [:]
        for (path, field) in self.attributeMappings {
            guard let value = profile.attributes[path] else { continue }
            values[field] = self.fieldValue(value, for: field)
        }
        for (field, audiences) in self.audienceFields {
            if let status = Self.statusText(of: profile, audiences: audiences) {
                values[field] = .string(status)
            }
        }
        if let exclusion = self.check(values, key: key) {
            return .excluded(exclusion)
        }
        return .record(DesiredRecord(key: key, fields: values))
    }

    /// The status text of one field: one audience's status, or `segmentId:status` lines for a shared field.
    static func statusText(of profile: Profile, audiences: [AudienceSchedule]) -> String? {
        if audiences.count == 1, let audience = audiences.first {
            guard let membership = profile.memberships[audience.segmentId], audience.isInWindow(membership.lastQualificationTime) else { return nil }
            return membership.status.rawValue
        }
        let lines = audiences.compactMap { audience -> String? in
            guard let membership = profile.memberships[audience.segmentId], audience.isInWindow(membership.lastQualificationTime) else { return nil }
            return "\(audience.segmentId):\(membership.status.rawValue)"
        }
        return lines.isEmpty ? nil : lines.joined(separator: "\n")
    }

    /// The key of the profile's record in this destination's queue (nil when the profile has no
    /// usable identity or external Id value).
    public func recordKey(of profile: Profile) -> String? {
        try? self.key(of: profile).get()
    }

    /// The record's key: its Salesforce Id, or its external Id value.
    private func key(of profile: Profile) -> Result<String, Exclusion> {
        switch self.keying {
        case .salesforceId(let namespace):
            return self.recordId(of: profile, namespace: namespace).map(\.value)
        case .externalId(let field, let source):
            return Self.externalIdValue(of: profile, source: source, field: field, object: self.objectType)
        }
    }

    /// Salesforce's external Id text fields hold at most this many characters.
    public static let maxExternalIdLength = 255

    /// The value an upsert matches the external Id field by: the first identity of a namespace, or
    /// an attribute as text.
    static func externalIdValue(of profile: Profile, source: MappingSource, field: String, object: SalesforceObjectType) -> Result<String, Exclusion> {
        let value: String?
        switch source {
        case .identity(let namespace): value = profile.identities[namespace]?.first
        case .attribute(let path): value = profile.attributes[path]?.text
        }
        guard let value, !value.allSatisfy(\.isWhitespace) else {
            return .failure(Exclusion(code: .identityMissing, message: "the profile has no \(source.text) value to match a \(object.rawValue) by \(field)", recordId: nil, field: field))
        }
        guard value.count <= Self.maxExternalIdLength else {
            return .failure(Exclusion(code: .valueTooLong, message: "\(source.text): \(value.count) characters; an external Id holds at most \(Self.maxExternalIdLength)", recordId: nil, field: field))
        }
        return .success(value)
    }

    /// The first identity of the namespace that is a well-formed Id of this object.
    private func recordId(of profile: Profile, namespace: String) -> Result<SalesforceRecordID, Exclusion> {
        guard let candidates = profile.identities[namespace], let first = candidates.first else {
            return .failure(Exclusion(code: .identityMissing, message: "the profile has no \(namespace) identity to address a \(self.objectType.rawValue) by", recordId: nil))
        }
        var firstProblem: Exclusion?
        for candidate in candidates {
            do {
                let id = try SalesforceRecordID(candidate)
                if id.keyPrefix == self.objectType.keyPrefix { return .success(id) }
                let other = id.objectType?.rawValue ?? "key prefix \(id.keyPrefix)"
                firstProblem = firstProblem ?? Exclusion(code: .idOfOtherObject, message: "\(candidate) is an Id of \(other), not of \(self.objectType.rawValue) (\(self.objectType.keyPrefix)...)", recordId: candidate)
            } catch {
                firstProblem = firstProblem ?? Exclusion(code: .malformedId, message: "\(candidate) is not a Salesforce Id: \(error)", recordId: candidate)
            }
        }
        return .failure(firstProblem ?? Exclusion(code: .malformedId, message: "\(first) is not a Salesforce Id", recordId: first))
    }

    /// Text fields get text; other fields keep the profile's JSON type.
    private func fieldValue(_ value: FieldValue, for field: String) -> FieldValue {
        if let info = self.fields[field], info.isText, let text = value.text { return .string(text) }
        return value
    }

    private func check(_ values: [String: FieldValue], key: String) -> Exclusion? {
        for required in self.objectType.requiredFields {
            if let value = values[required], value.isEmpty {
                return Exclusion(code: .requiredValueEmpty, message: "\(required) is required on \(self.objectType.rawValue) and the profile's value is empty", recordId: key, field: required)
            }
            // An upsert creates the record when none has the key: the fields creating one needs
            // must be there before any call (Salesforce would answer REQUIRED_FIELD_MISSING).
            if self.operation == .upsert, values[required] == nil {
                let source = self.attributeMappings.first { $0.field == required }.map { "xdm:\($0.path)" } ?? "its source"
                return Exclusion(code: .requiredValueMissing, message: "\(required) is required to create a \(self.objectType.rawValue) and the profile has no \(source) value", recordId: key, field: required)
            }
        }
        for (field, value) in values.sorted(by: { $0.key < $1.key }) {
            guard let info = self.fields[field], info.isText, let text = value.text else { continue }
            let length = text.count
            if length > info.length {
                return Exclusion(code: .valueTooLong, message: "\(field): \(length) characters, the org allows at most \(info.length)", recordId: key, field: field)
            }
        }
        return nil
    }
}

/// What a destination does with a profile.
public enum ActivationOutcome: Sendable, Hashable {
    /// The profile is in none of the destination's audiences: not its business.
    case notReceived
    /// Received, but cannot be sent; the reason is reported, no call is made.
    case excluded(Exclusion)
    /// The record the destination wants in Salesforce.
    case record(DesiredRecord)
}

/// The record a destination wants: its key and the values of the fields it manages.
public struct DesiredRecord: Sendable, Hashable {
    /// What addresses the record and keys its queue entry: the 18-character Salesforce Id (update
    /// destinations) or the external Id value (upsert destinations).
    public var key: String
    public var fields: [String: FieldValue]

    public init(key: String, fields: [String: FieldValue]) {
        self.key = key
        self.fields = fields
    }

    public init(id: SalesforceRecordID, fields: [String: FieldValue]) {
        self.init(key: id.value, fields: fields)
    }

    /// The fields whose wanted value differs from what Salesforce last acknowledged.
    /// Empty: nothing to send, no call.
    public func changes(since acknowledged: [String: FieldValue]) -> [String: FieldValue] {
        self.fields.filter { field, value in acknowledged[field] != value }
    }
}

/// Why a received profile is not sent, found before any call.
public struct Exclusion: Sendable, Hashable, Error {
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// No identity in the mapped namespace.
        case identityMissing = "IDENTITY_MISSING"
        /// Not a 15/18 character Id, or a wrong checksum.
        case malformedId = "MALFORMED_ID"
        /// A well-formed Id of another object (a Lead Id on a Contact destination).
        case idOfOtherObject = "ID_OF_OTHER_OBJECT"
        /// A value longer than the org's field length.
        case valueTooLong = "VALUE_TOO_LONG"
        /// An empty value for a field the object requires.
        case requiredValueEmpty = "REQUIRED_VALUE_EMPTY"
        /// An upsert profile without a value for a field creating the record requires.
        case requiredValueMissing = "REQUIRED_VALUE_MISSING"
        /// The profile refused sharing (its consent attribute is `n`).
        case consentRefused = "CONSENT_REFUSED"
    }

    public var code: Code
    public var message: String
    /// The Id the profile carried, as it carried it (nil when it had none).
    public var recordId: String?
    public var field: String?

    public init(code: Code, message: String, recordId: String?, field: String? = nil) {
        self.code = code
        self.message = message
        self.recordId = recordId
        self.field = field
    }
}
