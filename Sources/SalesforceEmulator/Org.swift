import Synchronization

/// The emulated Salesforce org: its data, who may call it, and what it has been asked.
///
/// Each part sits behind its own lock so a collection write never waits on token checks or
/// counters; no lock is held across a suspension point.
final class Org: Sendable {
    let store = Mutex(RecordStore())
    let access: Mutex<OrgAccess>
    let stats = Mutex(EmulatorStats())
    /// Bulk API 2.0 ingest jobs and the rolling 24-hour Bulk allowance.
    let bulk = Mutex(BulkIngestJobs())
    /// REST calls admitted and not yet answered (a gauge: a stats reset leaves it alone).
    let restCallsInFlight = Mutex(0)
    /// The records each collection write in flight carries (by Id, or by external Id value for
    /// an upsert), from its arrival to its answer: a record in two at once is an overlap.
    let writesInFlight = Mutex([String: Int]())
    /// The org's 18-character Id (`00D...`).
    let organizationId: String
    /// The integration user's 18-character Id (`005...`).
    let userId: String
    private let baseURLStorage = Mutex("")

    init(credentials: Credentials) {
        self.access = Mutex(OrgAccess(credentials: credentials))
        self.organizationId = RecordID.normalized("00D" + RecordID.randomCharacters(12))!
        self.userId = RecordID.normalized("005" + RecordID.randomCharacters(12))!
    }

    /// Where the org is reached: login URL and instance URL alike. Set once the socket is bound.
    var baseURL: String {
        get { self.baseURLStorage.withLock { $0 } }
        set { self.baseURLStorage.withLock { $0 = newValue } }
    }

    /// Counts the faults that struck one call or record.
    func record(_ admission: RESTAdmission) {
        guard !admission.struck.isEmpty || admission.tokenFirstPresented || admission.tokenFirstRefused else { return }
        self.stats.withLock {
            $0.count(admission.struck)
            if admission.tokenFirstPresented { $0.tokensPresented += 1 }
            if admission.tokenFirstRefused { $0.tokensRefused += 1 }
        }
    }

    /// A collection write carrying `keys` arrived: each key already in a write in flight counts
    /// as an overlapping write (a client that lost per-record order).
    func beginWrites(_ keys: [String]) {
        guard !keys.isEmpty else { return }
        let overlapping = self.writesInFlight.withLock { inFlight -> [String] in
            var overlapping: [String] = []
            for key in keys {
                if inFlight[key, default: 0] > 0 { overlapping.append(key) }
                inFlight[key, default: 0] += 1
            }
            return overlapping
        }
        guard !overlapping.isEmpty else { return }
        self.stats.withLock { stats in
            stats.overlappingWrites += overlapping.count
            for key in overlapping where stats.overlappingRecords.count < EmulatorStats.overlappingRecordsKept {
                stats.overlappingRecords.append(key)
            }
        }
    }

    /// The write carrying `keys` was answered.
    func endWrites(_ keys: [String]) {
        guard !keys.isEmpty else { return }
        self.writesInFlight.withLock { inFlight in
            for key in keys {
                let left = inFlight[key, default: 1] - 1
                inFlight[key] = left > 0 ? left : nil
            }
        }
    }

    /// Counts one authenticated REST call under its endpoint key.
    func recordCall(endpoint: String) {
        self.stats.withLock { stats in
            stats.apiCalls += 1
            stats.callsByEndpoint[endpoint, default: 0] += 1
        }
    }
}
