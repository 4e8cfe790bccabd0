import Crypto
import Foundation

/// Seals secrets with AES-256-GCM under the master key before they are stored.
public struct SecretBox: Sendable {
    private let key: SymmetricKey

    /// The master key is 32 bytes, given base64-encoded (`SFDEST_MASTER_KEY` or the key file).
    public init(base64Key: String) throws {
        guard let data = Data(base64Encoded: base64Key.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32 else {
            throw SecretBoxError.badKey
        }
        self.key = SymmetricKey(data: data)
    }

    /// A new random master key, base64-encoded.
    public static func generateKey() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
    }

    /// Seals `plaintext` bound to `context` (the row it belongs to, e.g. `connections/c_1`): AES-GCM
    /// authenticates the context as associated data, so a sealed value copied into another row
    /// does not open there.
    public func seal(_ plaintext: Data, boundTo context: String) throws -> Data {
        guard let combined = try AES.GCM.seal(plaintext, using: self.key, authenticating: Data(context.utf8)).combined else {
            throw SecretBoxError.sealFailed
        }
        return combined
    }

    /// Opens a value sealed with `seal(_:boundTo:)` for the same context.
    public func open(_ sealed: Data, boundTo context: String) throws -> Data {
        do {
            return try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: self.key, authenticating: Data(context.utf8))
        } catch {
            throw SecretBoxError.wrongKey
        }
    }

    /// Seals without binding to a row: only for values that live outside the database (and for
    /// reading values sealed before binding existed, which the store re-seals bound).
    public func seal(_ plaintext: Data) throws -> Data {
        guard let combined = try AES.GCM.seal(plaintext, using: self.key).combined else { throw SecretBoxError.sealFailed }
        return combined
    }

    public func open(_ sealed: Data) throws -> Data {
        do {
            return try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: self.key)
        } catch {
            throw SecretBoxError.wrongKey
        }
    }
}

public enum SecretBoxError: Error, CustomStringConvertible {
    case badKey, sealFailed, wrongKey

    public var description: String {
        switch self {
        case .badKey: return "the master key must be 32 bytes, base64-encoded (generate one with: openssl rand -base64 32)"
        case .sealFailed: return "could not encrypt a secret"
        case .wrongKey: return "stored secrets cannot be decrypted with this master key: SFDEST_MASTER_KEY or the data dir's master.key changed"
        }
    }
}
