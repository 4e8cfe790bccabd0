import Activation
import Store

extension Destination {
    /// The destination's mappings as the domain reads them; every problem at once.
    public func parsedMappings() throws(ConfigurationProblems) -> [Mapping] {
        var problems: [ConfigurationProblem] = []
        var mappings: [Mapping] = []
        for (index, setting) in self.mappings.enumerated() {
            do {
                mappings.append(try Mapping(source: setting.source, target: setting.target))
            } catch {
                problems += error.problems.map { $0.at(index: index) }
            }
        }
        guard problems.isEmpty else { throw ConfigurationProblems(problems) }
        return mappings
    }

    /// The destination's audiences as the domain reads them; every problem at once.
    public func parsedAudiences() throws(ConfigurationProblems) -> [AudienceSchedule] {
        var problems: [ConfigurationProblem] = []
        var audiences: [AudienceSchedule] = []
        for (index, setting) in self.segments.enumerated() {
            do {
                audiences.append(try AudienceSchedule(segmentId: setting.segmentId, mappingId: setting.mappingId, startDate: setting.startDate, endDate: setting.endDate))
            } catch {
                problems += error.problems.map { $0.at(index: index) }
            }
        }
        guard problems.isEmpty else { throw ConfigurationProblems(problems) }
        return audiences
    }

    /// The compiled plan, with the org's field lengths taken at enable time.
    public func activationPlan() throws(ConfigurationProblems) -> ActivationPlan {
        try ActivationPlan(
            objectType: self.objectType, operation: self.operation, mappings: try self.parsedMappings(), audiences: try self.parsedAudiences(),
            fields: self.orgFields, consentPath: self.consentPath
        )
    }
}
