import Crypto
import Foundation

/// The `X-Sfdest-Signature` header: `sha256=` and the hex HMAC-SHA256 of the raw body, keyed with
/// the subscription's secret.
public enum WebhookSignature {
    public static let header = "X-Sfdest-Signature"
    public static let eventIdHeader = "X-Sfdest-Event-Id"

    public static func sign(_ body: Data, secret: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + code.map { String(format: "%02x", $0) }.joined()
    }
}
