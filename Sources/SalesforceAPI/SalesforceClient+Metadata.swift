import Foundation
import NIOHTTP1

/// Describe, limits, versions and single-record reads.
extension SalesforceClient {
    /// `GET .../sobjects/{objectType}/describe`, cached per object type for this client's lifetime.
    public func describe(_ objectType: String) async throws -> SObjectDescription {
        try Self.checkAPIName(objectType, role: "object type")
        if let cached = await self.describeCache.get(objectType) { return cached }
        let answer = try await self.authorized(.GET, path: self.dataPath("/sobjects/\(objectType)/describe"))
        let description = try self.decode(SObjectDescription.self, from: answer)
        await self.describeCache.put(description, for: objectType)
        return description
    }

    /// Forgets the cached describe of one object type (after a field was added, say), or of all when nil.
    /// Whether `describe(objectType)` would answer from the cache, without a call.
    public func hasCachedDescribe(_ objectType: String) async -> Bool {
        await self.describeCache.get(objectType) != nil
    }

    public func invalidateDescribe(_ objectType: String? = nil) async {
        await self.describeCache.invalidate(objectType)
    }

    /// `GET .../limits/`: the org's limits, including `DailyApiRequests`.
    public func limits() async throws -> OrgLimits {
        let answer = try await self.authorized(.GET, path: self.dataPath("/limits/"))
        return OrgLimits(all: try self.decode(OrgLimitsAnswer.self, from: answer).limits)
    }

    /// `GET /services/data/` (no token needed): the API versions the org serves, oldest first.
    /// Asks the instance when a session exists, otherwise the login URL.
    public func versions() async throws -> [APIVersionInfo] {
        let base = await self.tokens.cached()?.instanceURL ?? self.loginURL
        var headers = HTTPHeaders()
        headers.add(name: "Accept", value: "application/json")
        let answer = try await self.transport.send(
            .GET, url: "\(base)/services/data/", headers: headers, body: nil, label: "GET /services/data/"
        )
        guard (200..<300).contains(answer.status) else {
            throw SalesforceError.fromRESTResponse(status: answer.status, body: answer.body)
        }
        return try self.decode([APIVersionInfo].self, from: answer)
    }

    /// `GET .../sobjects/{objectType}/{id}`: one record's scalar fields (compound fields left out).
    public func record(_ objectType: String, id: String) async throws -> [String: FieldValue] {
        try Self.checkAPIName(objectType, role: "object type")
        guard !id.isEmpty, id.count <= 18, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            throw SalesforceError.invalidRequest(code: "MALFORMED_ID", message: "'\(id)' is not a Salesforce record Id")
        }
        let answer = try await self.authorized(.GET, path: self.dataPath("/sobjects/\(objectType)/\(id)"))
        return try self.decode(SObjectRecordFields.self, from: answer).fields
    }
}
