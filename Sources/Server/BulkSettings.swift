import Activation
import Foundation
import SfdestJSON
import Store

/// The destination field `bulkThreshold`: a backfill of at least this many changed records goes
/// through Bulk API 2.0 (default 10,000; `null` turns bulk off).
enum BulkThresholdSetting {
    /// Reads the field of a body: absent keeps `current`, `null` turns bulk off, otherwise an
    /// integer of at least 1.
    static func read(given: Bool, isNull: Bool, value: Double?, current: Int?, problems: inout [ConfigurationProblem]) -> Int? {
        guard given else { return current }
        if isNull { return nil }
        guard let value, value.rounded() == value, value >= 1, value <= Double(Int32.max) else {
            problems.append(.init(
                field: "bulkThreshold",
                message: "must be a whole number of at least 1 (changed records from which a backfill goes through Bulk API 2.0), or null to send every change by sObject Collections"
            ))
            return current
        }
        return Int(value)
    }
}

/// The field `bulkJobs` of a destination's view: its latest Bulk API 2.0 jobs, newest first.
func bulkJobsJSON(_ jobs: [BulkJobSummary]) -> JSON {
    .array(jobs.map { job -> JSON in
        [
            "id": .string(job.id), "state": .string(job.state), "records": .int(job.records),
            "processed": .int(job.processed), "failed": .int(job.failed),
        ]
    })
}

/// How many of a destination's latest bulk jobs its view shows.
let bulkJobsShown = 10
