import Hummingbird
import SfdestJSON

extension JSON {
    /// A response carrying this document (written by the shared `JSONWriter`).
    func response(_ status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONWriter.encode(self))))
    }
}
