import Foundation

/// RSA key pairs and certificates for the JWT bearer tests, made by `openssl` at test time in a
/// temporary directory (removed afterwards) and kept for the process: PKCS#8 and PKCS#1 forms of
/// one 2048-bit key, its self-signed certificate, and keys the flow must refuse.
public struct JWTTestKeys: Sendable {
    /// `-----BEGIN PRIVATE KEY-----` (PKCS#8), 2048 bits.
    public let privateKeyPem: String
    /// The same key as `-----BEGIN RSA PRIVATE KEY-----` (PKCS#1).
    public let pkcs1PrivateKeyPem: String
    /// A self-signed X.509 certificate of the key (`/CN=sfdest`), as uploaded to the app.
    public let certificatePem: String
    /// Another 2048-bit key and its certificate: signatures of one do not verify with the other.
    public let otherPrivateKeyPem: String
    public let otherCertificatePem: String
    /// A 1024-bit RSA key (too small).
    public let smallPrivateKeyPem: String
    /// The 2048-bit key encrypted with the passphrase `secret`.
    public let encryptedPrivateKeyPem: String
    /// A P-256 EC key (not RSA).
    public let ecPrivateKeyPem: String

    /// The keys of this process, made on first use.
    public static func shared() throws -> JWTTestKeys {
        try Self.made.get()
    }

    private static let made: Result<JWTTestKeys, any Error> = Result { try JWTTestKeys.make() }

    private static func make() throws -> JWTTestKeys {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sfdest-jwt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        func read(_ name: String) throws -> String { try String(contentsOfFile: path(name), encoding: .utf8) }
        try openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path("key.pem")])
        try openssl(["rsa", "-in", path("key.pem"), "-traditional", "-out", path("key-pkcs1.pem")])
        try openssl(["req", "-x509", "-new", "-key", path("key.pem"), "-subj", "/CN=sfdest", "-days", "2", "-out", path("cert.pem")])
        try openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path("other.pem")])
        try openssl(["req", "-x509", "-new", "-key", path("other.pem"), "-subj", "/CN=other", "-days", "2", "-out", path("other-cert.pem")])
        try openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", path("small.pem")])
        try openssl(["pkey", "-in", path("key.pem"), "-aes256", "-passout", "pass:secret", "-out", path("encrypted.pem")])
        try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", path("ec.pem")])
        return JWTTestKeys(
            privateKeyPem: try read("key.pem"), pkcs1PrivateKeyPem: try read("key-pkcs1.pem"), certificatePem: try read("cert.pem"),
            otherPrivateKeyPem: try read("other.pem"), otherCertificatePem: try read("other-cert.pem"),
            smallPrivateKeyPem: try read("small.pem"), encryptedPrivateKeyPem: try read("encrypted.pem"), ecPrivateKeyPem: try read("ec.pem")
        )
    }

    private static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try ProcessLaunch.run(process)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw HarnessFailure("openssl \(arguments.joined(separator: " ")) failed") }
    }
}
