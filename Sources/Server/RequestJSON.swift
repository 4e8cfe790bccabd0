import Activation
import Foundation
import Hummingbird
import Ingest
import NIOCore
import SfdestJSON

/// Reading request bodies: bounded, liberal about unknown keys, precise about wrong types.
enum RequestJSON {
    /// Nesting depth of arrays and objects in a configuration body, checked before it is parsed.
    static let maxNesting = 64

    /// Collects a body of at most `limit` bytes; a larger one is answered 413.
    static func collect(_ request: Request, limit: Int) async throws -> Data {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw APIError.payloadTooLarge(limit: limit)
        }
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Data(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw APIError.payloadTooLarge(limit: limit)
        }
    }

    /// Decodes a JSON body. Not JSON: 400 `malformed_json`; a value of the wrong type: 422
    /// `invalid_request` naming its path (`auth.type`, `[2].target`). An empty body decodes
    /// `empty` when given, else is refused.
    static func decode<Value: Decodable>(
        _ type: Value.Type, from request: Request, limit: Int, empty: Value? = nil
    ) async throws -> Value {
        let data = try await self.collect(request, limit: limit)
        if data.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            if let empty { return empty }
            throw APIError.malformedJSON("the body is empty: send a JSON document")
        }
        if let offset = JSONShape.firstInvalidUTF8(data) {
            throw APIError.malformedJSON("the body is not UTF-8 (at byte \(offset)): send JSON encoded as UTF-8")
        }
        if let offset = JSONShape.scan(data, maxDepth: self.maxNesting).tooDeepAt {
            throw APIError.nestingTooDeep(
                "arrays and objects nest deeper than \(self.maxNesting) levels (at byte \(offset)); a configuration needs far fewer"
            )
        }
        let problems = DecodingProblems()
        let decoder = JSONDecoder()
        decoder.userInfo[DecodingProblems.key] = problems
        let value: Value
        do {
            value = try decoder.decode(Value.self, from: data)
        } catch let error as DecodingError {
            throw self.apiError(for: error)
        } catch is DecodingProblems.Recorded {
            throw self.wrongTypes(problems.problems)
        }
        guard problems.problems.isEmpty else { throw self.wrongTypes(problems.problems) }
        return value
    }

    /// 422 `invalid_request` naming every value of the wrong type.
    private static func wrongTypes(_ problems: [ConfigurationProblem]) -> APIError {
        APIError.problems(problems, code: "invalid_request", summary: "values of the wrong type")
    }

    /// `expected a string`, for a value that is not of `type`.
    static func expectation(_ type: Any.Type) -> String {
        "expected \(self.describe(type))"
    }

    static func apiError(for error: DecodingError) -> APIError {
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            let detail = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String ?? context.debugDescription
            return APIError.malformedJSON("the body is not JSON: \(detail)")
        case .typeMismatch(let type, let context):
            return self.invalid(path: context.codingPath, message: "expected \(self.describe(type))")
        case .valueNotFound(let type, let context):
            return self.invalid(path: context.codingPath, message: "expected \(self.describe(type)), found null")
        case .keyNotFound(let key, let context):
            return self.invalid(path: context.codingPath + [key], message: "required")
        case .dataCorrupted(let context):
            return self.invalid(path: context.codingPath, message: context.debugDescription)
        @unknown default:
            return APIError.malformedJSON("the body cannot be read: \(error)")
        }
    }

    /// `auth.type`, `[2].target`; `(body)` for the document itself.
    static func path(_ codingPath: [any CodingKey]) -> String {
        var text = ""
        for key in codingPath {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return text.isEmpty ? "(body)" : text
    }

    private static func invalid(path codingPath: [any CodingKey], message: String) -> APIError {
        let path = self.path(codingPath)
        return APIError(
            status: .unprocessableContent, code: "invalid_request", message: "\(path): \(message)",
            details: [["field": .string(path), "message": .string(message)]]
        )
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        case is Int.Type, is Double.Type: return "a number"
        case is [Any].Type: return "an array"
        case is [String: Any].Type: return "an object"
        default:
            let name = String(describing: type)
            return name.hasPrefix("Array") || name.hasPrefix("[") ? "an array" : "an object"
        }
    }
}
