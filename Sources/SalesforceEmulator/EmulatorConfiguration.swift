/// How to run the emulated org: where it listens, the credentials it accepts, what it holds at start.
public struct EmulatorConfiguration: Sendable {
    public var host: String
    /// 0 lets the operating system pick a free port.
    public var port: Int
    /// The connected app's consumer key.
    public var clientId: String
    /// The connected app's consumer secret.
    public var clientSecret: String
    public var username: String
    /// The password with the security token appended, as the password grant sends it.
    public var password: String
    /// Contacts to seed at start.
    public var contacts: Int
    /// Leads to seed at start.
    public var leads: Int
    /// The X.509 certificate (PEM) uploaded to the connected app for the JWT bearer flow; nil
    /// for none (the flow then answers "invalid assertion" until one is uploaded).
    public var jwtCertificatePem: String?

    public init(
        host: String = "127.0.0.1",
        port: Int = 8090,
        clientId: String = "sfdest-emulator-consumer-key",
        clientSecret: String = "sfdest-emulator-consumer-secret",
        username: String = "integration@emulator.sfdest",
        password: String = "emulator-pwTOKEN123",
        contacts: Int = 0,
        leads: Int = 0,
        jwtCertificatePem: String? = nil
    ) {
        self.host = host
        self.port = port
        self.clientId = clientId
        self.clientSecret = clientSecret
        self.username = username
        self.password = password
        self.contacts = contacts
        self.leads = leads
        self.jwtCertificatePem = jwtCertificatePem
    }
}
