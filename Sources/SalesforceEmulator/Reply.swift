import HTTPTypes
import Hummingbird
import NIOCore
import SfdestJSON

/// Builds the emulator's HTTP answers.
enum Reply {
    static let sforceLimitInfo = HTTPField.Name("Sforce-Limit-Info")!

    static func json(_ status: HTTPResponse.Status, _ value: JSON, headers: HTTPFields = [:]) -> Response {
        let bytes = JSONWriter.encode(value)
        var fields = headers
        fields[.contentType] = "application/json;charset=UTF-8"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func empty(_ status: HTTPResponse.Status) -> Response {
        Response(status: status, headers: [:], body: ResponseBody())
    }

    static func failure(_ failure: RESTFailure, headers: HTTPFields = [:]) -> Response {
        Self.json(failure.status, failure.json, headers: headers)
    }

    static func failure(_ failure: AdminFailure) -> Response {
        Self.json(failure.status, failure.json)
    }

    /// `Sforce-Limit-Info: api-usage=USED/MAX`.
    static func limitHeaders(_ usage: APIUsage) -> HTTPFields {
        var fields = HTTPFields()
        fields[Self.sforceLimitInfo] = "api-usage=\(usage.used)/\(usage.max)"
        return fields
    }
}

/// The body exceeded what the emulator reads.
struct BodyTooLarge: Error {}

extension Request {
    /// Largest body the emulator reads; bigger ones answer 413.
    static let maximumBodyBytes = 50 * 1024 * 1024

    /// The whole body as bytes.
    func collectedBody() async throws -> ByteBuffer {
        do {
            return try await self.body.collect(upTo: Self.maximumBodyBytes)
        } catch is NIOTooManyBytesError {
            throw BodyTooLarge()
        }
    }
}
