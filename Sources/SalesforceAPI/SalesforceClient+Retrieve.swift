import Foundation
import NIOCore

/// sObject Collections retrieve: the fields of up to 2,000 records of one object in one call.
extension SalesforceClient {
    /// Salesforce's limit of Ids per collections retrieve.
    public static let maxIdsPerRetrieve = 2_000

    /// `POST .../composite/sobjects/{objectType}` `{"ids": [...], "fields": [...]}`: one answer per
    /// Id in request order, nil where no such record exists (or it was deleted). Scalar fields only.
    /// More than ``maxIdsPerRetrieve`` Ids fail before anything is sent.
    public func retrieveRecords(objectType: String, ids: [String], fields: [String]) async throws -> [[String: FieldValue]?] {
        try Self.checkAPIName(objectType, role: "object type")
        for field in fields { try Self.checkAPIName(field, role: "field") }
        guard ids.count <= Self.maxIdsPerRetrieve else {
            throw SalesforceError.invalidRequest(
                code: "EXCEEDED_ID_LIMIT",
                message: "\(ids.count) Ids given; a collections retrieve takes at most \(Self.maxIdsPerRetrieve)",
                hint: "split the Ids into groups of \(Self.maxIdsPerRetrieve)"
            )
        }
        guard !ids.isEmpty, !fields.isEmpty else { return Array(repeating: nil, count: ids.count) }
        var body = ByteBufferAllocator().buffer(capacity: 32 + ids.count * 21 + fields.count * 24)
        body.writeStaticString(#"{"ids":["#)
        for (index, id) in ids.enumerated() {
            if index > 0 { body.writeStaticString(",") }
            CollectionsRequestBody.writeString(id, into: &body)
        }
        body.writeStaticString(#"],"fields":["#)
        for (index, field) in fields.enumerated() {
            if index > 0 { body.writeStaticString(",") }
            CollectionsRequestBody.writeString(field, into: &body)
        }
        body.writeStaticString("]}")
        let answer = try await self.authorized(.POST, path: self.dataPath("/composite/sobjects/\(objectType)"), body: body)
        let records = try self.decode([SObjectRecordFields?].self, from: answer)
        guard records.count == ids.count else {
            throw SalesforceError.invalidResponse("Salesforce answered \(records.count) records for \(ids.count) Ids", httpStatus: answer.status)
        }
        return records.map { $0?.fields }
    }
}
