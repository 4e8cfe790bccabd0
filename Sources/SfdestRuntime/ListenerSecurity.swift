import Server
import SfdestBasics

/// Why the runtime refuses to listen as configured: a non-loopback address over plain HTTP, or TLS
/// files that cannot be used. Checked when the runtime is made, so every entry point gets it.
public struct ListenerRefusal: Error, CustomStringConvertible, Sendable {
    public let description: String
}

enum ListenerSecurity {
    /// The TLS to serve with (nil: plain HTTP), or why the settings cannot be served.
    static func check(_ settings: SfdestRuntime.Settings) throws(ListenerRefusal) -> ServerTLS? {
        switch (settings.tlsCertificateFile, settings.tlsKeyFile) {
        case (let certificate?, let key?):
            do {
                return try ServerTLS.load(certificateFile: certificate, keyFile: key)
            } catch {
                throw ListenerRefusal(description: error.description)
            }
        case (.some, nil):
            throw ListenerRefusal(description: "--tls-cert was given without --tls-key: give both, the certificate and its private key (PEM files)")
        case (nil, .some):
            throw ListenerRefusal(description: "--tls-key was given without --tls-cert: give both, the certificate and its private key (PEM files)")
        case (nil, nil):
            guard Self.isLoopback(settings.host) || settings.insecureHTTP else {
                throw ListenerRefusal(description:
                    "refusing to listen on \(settings.host) over plain HTTP: API keys and profiles would cross the network unencrypted. "
                    + "Give --tls-cert FILE --tls-key FILE to serve HTTPS, or, if a TLS proxy in front of sfdest terminates TLS, "
                    + "pass --insecure-http to say so (or listen on 127.0.0.1)"
                )
            }
            return nil
        }
    }

    /// 127.0.0.0/8, ::1 and localhost: addresses no other machine reaches. The same reading as the
    /// outbound policy's, so "sfdest listens on loopback" means one thing for TLS and for outbound.
    static func isLoopback(_ host: String) -> Bool {
        OutboundHostPolicy.isLoopbackListenHost(host)
    }
}
