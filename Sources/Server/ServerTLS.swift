import Foundation
import HummingbirdCore
import HummingbirdTLS

/// The certificate chain and private key the API serves HTTPS with, loaded from PEM files and
/// checked to belong together before the server starts.
public struct ServerTLS: Sendable {
    let configuration: TLSConfiguration

    /// Why the TLS files cannot be used, naming the file and what to do.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Reads `certificateFile` (PEM, the server certificate first, then intermediates) and `keyFile`
    /// (PEM, unencrypted).
    public static func load(certificateFile: String, keyFile: String) throws(Failure) -> ServerTLS {
        let certificatePEM = try Self.read(certificateFile, what: "certificate (--tls-cert)")
        let keyPEM = try Self.read(keyFile, what: "private key (--tls-key)")
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(certificatePEM)
        } catch {
            throw Failure(description: "the TLS certificate \(certificateFile) is not a PEM certificate (\(error)): give a file with -----BEGIN CERTIFICATE----- blocks")
        }
        guard !chain.isEmpty else {
            throw Failure(description: "the TLS certificate \(certificateFile) holds no PEM certificate: give a file with -----BEGIN CERTIFICATE----- blocks")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(bytes: keyPEM, format: .pem)
        } catch {
            throw Failure(description: "the TLS private key \(keyFile) is not an unencrypted PEM private key (\(error)): give the key of the certificate, without a passphrase")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        // TLS 1.0 and 1.1 are deprecated (RFC 8996); every current client speaks 1.2.
        configuration.minimumTLSVersion = .tlsv12
        let tls = ServerTLS(configuration: configuration)
        do {
            // Builds the TLS context now, which checks that the key is the certificate's.
            _ = try TLSChannelFactory.wrap(HTTP1Channel(responder: { _, _, _ in }), tls: tls)
        } catch {
            throw Failure(description: "the TLS private key \(keyFile) does not match the certificate \(certificateFile) (\(error)): give the key the certificate was issued for")
        }
        return tls
    }

    private static func read(_ path: String, what: String) throws(Failure) -> [UInt8] {
        do {
            return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            let reason = (error as NSError).localizedFailureReason ?? error.localizedDescription
            throw Failure(description: "cannot read the TLS \(what) \(path): \(reason) (check the path and that sfdest may read it)")
        }
    }
}

/// Wraps a child channel in TLS.
enum TLSChannelFactory {
    static func wrap<Base: ServerChildChannel>(_ base: Base, tls: ServerTLS) throws -> any ServerChildChannel {
        try TLSChannel(base, tlsConfiguration: tls.configuration)
    }
}
