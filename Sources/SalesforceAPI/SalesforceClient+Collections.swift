import NIOCore
import NIOHTTP1

/// sObject Collections: update, create and upsert up to 200 records per request.
extension SalesforceClient {
    /// `PATCH .../composite/sobjects`: updates records by `id`. One result per record, in order.
    /// More than ``maxRecordsPerRequest`` records fail with `EXCEEDED_ID_LIMIT` before anything is sent.
    public func updateRecords(_ records: [SObjectRecord], allOrNone: Bool = false) async throws -> [RecordResult] {
        try await self.sendCollection(.PATCH, path: self.dataPath("/composite/sobjects"), records: records, allOrNone: allOrNone)
    }

    /// `POST .../composite/sobjects`: creates records (without `id`). Results carry the new Ids.
    public func createRecords(_ records: [SObjectRecord], allOrNone: Bool = false) async throws -> [RecordResult] {
        try await self.sendCollection(.POST, path: self.dataPath("/composite/sobjects"), records: records, allOrNone: allOrNone)
    }

    /// `PATCH .../composite/sobjects/{objectType}/{externalIdField}`: creates or updates records
    /// matched by an external Id field each record carries. Results say whether each was `created`.
    public func upsertRecords(
        _ records: [SObjectRecord], objectType: String, externalIdField: String, allOrNone: Bool = false
    ) async throws -> [RecordResult] {
        try Self.checkAPIName(objectType, role: "object type")
        try Self.checkAPIName(externalIdField, role: "external Id field")
        if let other = records.first(where: { $0.objectType.lowercased() != objectType.lowercased() }) {
            throw SalesforceError.invalidRequest(
                code: "INVALID_TYPE", message: "an upsert of \(objectType) records got a \(other.objectType) record"
            )
        }
        let path = self.dataPath("/composite/sobjects/\(objectType)/\(externalIdField)")
        return try await self.sendCollection(.PATCH, path: path, records: records, allOrNone: allOrNone)
    }

    private func sendCollection(
        _ method: HTTPMethod, path: String, records: [SObjectRecord], allOrNone: Bool
    ) async throws -> [RecordResult] {
        guard records.count <= Self.maxRecordsPerRequest else {
            throw SalesforceError.invalidRequest(
                code: "EXCEEDED_ID_LIMIT",
                message: "\(records.count) records given; sObject Collections take at most \(Self.maxRecordsPerRequest) per request",
                hint: "split the records into batches of \(Self.maxRecordsPerRequest)"
            )
        }
        if records.isEmpty { return [] }
        let body = try CollectionsRequestBody.encode(records, allOrNone: allOrNone)
        let answer = try await self.authorized(method, path: path, body: body)
        let results = try self.decode([RecordResult].self, from: answer)
        guard results.count == records.count else {
            throw SalesforceError.invalidResponse(
                "Salesforce answered \(results.count) results for \(records.count) records", httpStatus: answer.status
            )
        }
        return results
    }
}
