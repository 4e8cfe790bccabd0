import Hummingbird
import NIOCore
import SfdestJSON

/// sObject Collections: update, create and upsert of up to 200 records per request.
extension RESTService {
    static let maximumCollectionSize = 200

    /// Parses a collection body, refuses what Salesforce refuses as a whole, then writes under the store lock.
    func writeCollection(
        _ operation: CollectionOperation, object: SObjectSchema?, body: ByteBuffer, lockRowRate: Double
    ) throws(RESTFailure) -> JSON {
        let document: JSON
        do {
            document = try JSON.parse(body.readableBytesView)
        } catch {
            throw .jsonParser("Unexpected character in request body: \(error.description) at [line:1, column:1]")
        }
        guard document.objectValue != nil else {
            throw .jsonParser("Cannot deserialize instance of collection request from a value that is not an object")
        }
        let allOrNoneValue = document["allOrNone"] ?? .null
        guard let allOrNone = allOrNoneValue.isNull ? false : allOrNoneValue.boolValue else {
            throw .jsonParser("Cannot deserialize instance of boolean from \(allOrNoneValue) value for allOrNone")
        }
        guard let items = document["records"]?.arrayValue, !items.isEmpty else {
            throw RESTFailure(
                status: .badRequest, errorCode: "INVALID_INPUT",
                message: "The request body must contain a non-empty 'records' array"
            )
        }
        guard items.count <= Self.maximumCollectionSize else {
            throw RESTFailure(
                status: .badRequest, errorCode: "EXCEEDED_ID_LIMIT",
                message: "record limit reached. cannot submit more than \(Self.maximumCollectionSize) records into this call"
            )
        }
        let now = SalesforceTimestamp.now()
        let outcome = try self.org.store.withLock { store throws(RESTFailure) -> CollectionOutcome in
            let incoming = try store.incomingRecords(items, object: object)
            return store.apply(operation, records: incoming, allOrNone: allOrNone, lockRowRate: lockRowRate, now: now)
        }
        let locked = outcome.results.filter { $0.failure?.statusCode == RecordFailure.unableToLockRow }.count
        if outcome.recordsWritten > 0 || locked > 0 {
            self.org.stats.withLock { stats in
                stats.recordsWritten += outcome.recordsWritten
                stats.count(repeatElement(FaultKind.lockRow, count: locked))
            }
        }
        return .array(outcome.results.map(\.json))
    }
}
