import Hummingbird
import NIOCore

/// The UI's stylesheet and script, served by sfdest itself (no CDN, no build step).
enum UIAssets {
    static func register(on router: Router<SfdestRequestContext>) {
        router.get("ui/assets/app.css") { _, _ in Self.asset(UIAssetText.css, type: "text/css; charset=utf-8") }
        router.get("ui/assets/app.js") { _, _ in Self.asset(UIAssetText.script, type: "text/javascript; charset=utf-8") }
    }

    static func asset(_ text: String, type: String) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: type, .cacheControl: "public, max-age=300", UIHeader.Name("X-Content-Type-Options")!: "nosniff"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text))
        )
    }
}
