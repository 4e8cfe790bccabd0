import Foundation
import Hummingbird
import NIOCore
import SfdestJSON

/// sObject Collections retrieve: `GET /composite/sobjects/{Type}?ids=...&fields=...`, or `POST` with
/// `{"ids": [...], "fields": [...]}` for up to 2,000 Ids. One answer per Id in request order: the
/// record with the asked fields, or null when no such record exists (or it was deleted).
extension RESTService {
    static let maximumRetrieveIds = 2_000

    func retrieveCollection(_ request: Request, object schema: SObjectSchema, major: Int) async throws -> JSON {
        let ids: [String]
        let fieldNames: [String]
        switch request.method {
        case .get, .head:
            let query = request.uri.queryParameters
            ids = query.get("ids").map(Self.commaList) ?? []
            fieldNames = query.get("fields").map(Self.commaList) ?? []
        case .post:
            let body = try await request.collectedBody()
            let document: JSON
            do {
                document = try JSON.parse(body.readableBytesView)
            } catch {
                throw RESTFailure.jsonParser("Unexpected character in request body: \(error.description) at [line:1, column:1]")
            }
            guard let idValues = document["ids"]?.arrayValue, let fieldValues = document["fields"]?.arrayValue else {
                throw RESTFailure(status: .badRequest, errorCode: "INVALID_INPUT", message: "The request body must carry 'ids' and 'fields' arrays")
            }
            ids = try idValues.map { value throws(RESTFailure) in
                guard let text = value.stringValue else { throw .jsonParser("Cannot deserialize instance of string from \(value) value for ids") }
                return text
            }
            fieldNames = try fieldValues.map { value throws(RESTFailure) in
                guard let text = value.stringValue else { throw .jsonParser("Cannot deserialize instance of string from \(value) value for fields") }
                return text
            }
        default:
            throw RESTFailure(
                status: .methodNotAllowed, errorCode: "METHOD_NOT_ALLOWED",
                message: "HTTP Method '\(request.method.rawValue)' not allowed. Allowed are GET,HEAD,POST,PATCH"
            )
        }
        guard !ids.isEmpty else {
            throw RESTFailure(status: .badRequest, errorCode: "INVALID_INPUT", message: "At least one Id is required in 'ids'")
        }
        guard ids.count <= Self.maximumRetrieveIds else {
            throw RESTFailure(
                status: .badRequest, errorCode: "EXCEEDED_ID_LIMIT",
                message: "record limit reached. cannot submit more than \(Self.maximumRetrieveIds) records into this call"
            )
        }
        guard !fieldNames.isEmpty else {
            throw RESTFailure(status: .badRequest, errorCode: "INVALID_INPUT", message: "At least one field is required in 'fields'")
        }
        let selection = try fieldNames.map { name throws(RESTFailure) -> FieldDefinition in
            guard let field = schema.field(named: name) else { throw .invalidField(name, on: schema.name) }
            return field
        }
        let normalized = try ids.map { raw throws(RESTFailure) -> String in
            guard let id = RecordID.normalized(raw), RecordID.keyPrefix(of: id) == schema.keyPrefix else {
                throw RESTFailure(status: .badRequest, errorCode: "MALFORMED_ID", message: "\(schema.name) ID: id value of incorrect type: \(raw)")
            }
            return id
        }
        let base = "/services/data/v\(major).0/sobjects/\(schema.name)"
        let records = self.org.store.withLock { store in normalized.map { store.record(id: $0) } }
        return .array(zip(normalized, records).map { id, record in
            guard let record, !record.isDeleted else { return .null }
            return record.json(schema: schema, only: selection, url: "\(base)/\(id)")
        })
    }

    private static func commaList(_ text: String) -> [String] {
        text.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
