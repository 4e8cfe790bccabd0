import Activation
import Foundation
import Logging
import SalesforceAPI
import Store

/// How one claimed batch becomes Salesforce calls: updates by Id, upserts by an external Id, and
/// for a Lead destination that follows converted leads, the change sent on to the lead's Contact.
extension DeliveryService {
    /// Salesforce's answer for one claimed record: its per-record result and the Id it now lives at
    /// when that is news, or the request-level failure of a follow-up call that carried it.
    struct Written: Sendable {
        var result: RecordResult
        var address: RecordAddress?
        var requestError: SalesforceError?

        init(result: RecordResult, address: RecordAddress? = nil) {
            self.result = result
            self.address = address
        }

        init(requestError: SalesforceError) {
            self.result = RecordResult(id: nil, success: false, errors: [RecordError(statusCode: requestError.code, message: requestError.message)])
            self.requestError = requestError
        }
    }

    /// The code of a converted lead whose change has nowhere to go: it has no Contact, or its
    /// Contact was deleted.
    static let convertedContactMissing = "CONVERTED_CONTACT_MISSING"

    /// Sends one claimed batch: one sObject Collections call per kind of write it holds (upserts
    /// by the external Id, updates by Id), then, when converted leads are followed and the batch
    /// met some, one retrieve of their `ConvertedContactId` and one update of those Contacts. One
    /// answer per claimed record, in order. The first call's request-level failure is thrown
    /// (nothing was written); a later call's becomes the answer of the records it carried, since
    /// what the first call wrote stands.
    func write(_ claimed: [ClaimedRecord], destination: Destination, client: SalesforceClient) async throws -> [Written] {
        let externalIdField = destination.operation == .upsert ? Self.externalIdField(of: destination) : nil
        var upserts: [Int] = []
        var updates: [Int] = []
        for (index, record) in claimed.enumerated() {
            // A followed converted lead is written to its Contact by Id, whatever the destination does.
            if externalIdField != nil, record.address?.objectType == nil { upserts.append(index) } else { updates.append(index) }
        }
        var answers = [Written?](repeating: nil, count: claimed.count)
        if let externalIdField, !upserts.isEmpty {
            let object = destination.objectType.rawValue
            let records = upserts.map { index in
                var record = Self.sobjectRecord(claimed[index], objectType: object, id: nil)
                record.fields.append(SObjectRecord.Field(externalIdField, .string(claimed[index].recordId)))
                return record
            }
            let results = try await self.call(destination, client) {
                try await client.upsertRecords(records, objectType: object, externalIdField: externalIdField, allOrNone: false)
            }
            for (index, result) in zip(upserts, results) {
                answers[index] = Written(result: result, address: result.success ? result.id.map { RecordAddress(salesforceId: $0) } : nil)
            }
        }
        if !updates.isEmpty {
            do {
                let contactFields = updates.contains { claimed[$0].address?.objectType == "Contact" }
                    ? try await self.contactFields(client, connectionId: destination.connectionId) : []
                let records = updates.map { index in
                    let record = claimed[index]
                    if let address = record.address, let object = address.objectType {
                        var followed = Self.sobjectRecord(record, objectType: object, id: address.salesforceId)
                        if object == "Contact" { followed.fields.removeAll { !contactFields.contains($0.name) } }
                        return followed
                    }
                    return Self.sobjectRecord(record, objectType: destination.objectType.rawValue, id: record.address?.salesforceId ?? record.recordId)
                }
                let results = try await self.call(destination, client) { try await client.updateRecords(records, allOrNone: false) }
                for (index, result) in zip(updates, results) { answers[index] = Written(result: result) }
            } catch let error as SalesforceError where !upserts.isEmpty {
                for index in updates { answers[index] = Written(requestError: error) }
            }
        }
        var written = answers.map { $0 ?? Written(requestError: Self.unanswered) }
        if destination.objectType == .lead, destination.convertedLeads == .followContact {
            await self.followConvertedLeads(claimed, &written, destination: destination, client: client)
        }
        return written
    }

    /// Sends converted leads' changes on to their Contacts: one retrieve of `ConvertedContactId`
    /// for the batch (at most 200 Ids, under the retrieve's 2,000), one update of the Contacts with
    /// the fields a Contact has. From then on the record is written to the Contact directly.
    private func followConvertedLeads(_ claimed: [ClaimedRecord], _ written: inout [Written], destination: Destination, client: SalesforceClient) async {
        let converted = written.indices.filter {
            written[$0].result.statusCode == "CANNOT_UPDATE_CONVERTED_LEAD" && claimed[$0].address?.objectType == nil
        }
        guard !converted.isEmpty else { return }
        let leadIds = converted.map { written[$0].result.id ?? claimed[$0].address?.salesforceId ?? claimed[$0].recordId }
        let contactIds: [String?]
        let contactFields: Set<String>
        do {
            let leads = try await self.call(destination, client) {
                try await client.retrieveRecords(objectType: "Lead", ids: leadIds, fields: ["ConvertedContactId"])
            }
            contactIds = leads.map { $0?["ConvertedContactId"]?.stringValue }
            contactFields = try await self.contactFields(client, connectionId: destination.connectionId)
        } catch {
            for index in converted { written[index] = Written(requestError: Self.salesforceError(error)) }
            return
        }
        var sends: [(index: Int, contactId: String, record: SObjectRecord)] = []
        for (position, index) in converted.enumerated() {
            guard let contactId = contactIds[position] else {
                written[index] = Written(result: RecordResult(id: leadIds[position], success: false, errors: [RecordError(
                    statusCode: Self.convertedContactMissing,
                    message: "lead \(leadIds[position]) was converted, and it has no Contact (ConvertedContactId is empty, or the lead is gone): its change has nowhere to go"
                )]))
                continue
            }
            var record = Self.sobjectRecord(claimed[index], objectType: "Contact", id: contactId)
            record.fields.removeAll { !contactFields.contains($0.name) }
            if record.fields.isEmpty {
                // The change holds nothing a Contact has: there is nothing to send it.
                written[index] = Written(result: RecordResult(id: contactId, success: true), address: RecordAddress(salesforceId: contactId, objectType: "Contact"))
            } else {
                sends.append((index, contactId, record))
            }
        }
        guard !sends.isEmpty else { return }
        let results: [RecordResult]
        do {
            results = try await self.call(destination, client) { try await client.updateRecords(sends.map(\.record), allOrNone: false) }
        } catch {
            for send in sends { written[send.index] = Written(requestError: Self.salesforceError(error)) }
            return
        }
        for (send, result) in zip(sends, results) {
            if result.success {
                written[send.index] = Written(result: result, address: RecordAddress(salesforceId: send.contactId, objectType: "Contact"))
            } else if let code = result.statusCode, ["ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"].contains(code) {
                written[send.index] = Written(result: RecordResult(id: send.contactId, success: false, errors: [RecordError(
                    statusCode: Self.convertedContactMissing,
                    message: "the lead was converted to Contact \(send.contactId), which is gone (\(code)): its change has nowhere to go"
                )]))
            } else {
                written[send.index] = Written(result: result)
            }
        }
    }

    /// One Salesforce call, counted with the usage it reported.
    private func call<Answer: Sendable>(_ destination: Destination, _ client: SalesforceClient, _ body: () async throws -> Answer) async throws -> Answer {
        defer { self.metrics.apiCall(connectionId: destination.connectionId, usage: client.apiUsage) }
        return try await body()
    }

    /// The updateable fields of the org's Contact (describe, cached by the client).
    private func contactFields(_ client: SalesforceClient, connectionId: String) async throws -> Set<String> {
        let cached = await client.hasCachedDescribe("Contact")
        let description = try await client.describe("Contact")
        if !cached { self.metrics.apiCall(connectionId: connectionId, usage: client.apiUsage) }
        return Set(description.fields.filter(\.updateable).map(\.name))
    }

    /// The external Id field of an upsert destination's mappings.
    static func externalIdField(of destination: Destination) -> String? {
        for setting in destination.mappings {
            if case .externalId(let field)? = (try? Mapping(source: setting.source, target: setting.target))?.target { return field }
        }
        return nil
    }

    static func sobjectRecord(_ record: ClaimedRecord, objectType: String, id: String?) -> SObjectRecord {
        SObjectRecord(
            objectType: objectType, id: id,
            fields: record.fields.sorted { $0.key < $1.key }.map { SObjectRecord.Field($0.key, Self.wireValue($0.value)) }
        )
    }

    /// A record no answer covered (cannot happen with Salesforce's in-order results): sent again.
    static let unanswered = SalesforceError(
        kind: .invalidResponse, disposition: .retryLater, code: "INVALID_RESPONSE", message: "Salesforce's answer did not cover this record"
    )

    private static func salesforceError(_ error: any Error) -> SalesforceError {
        if let error = error as? SalesforceError { return error }
        return SalesforceError(kind: .transport, disposition: .retryLater, code: "INTERNAL_ERROR", message: "\(error)")
    }
}
