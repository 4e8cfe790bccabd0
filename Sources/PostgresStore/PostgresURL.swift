import Foundation
import PostgresNIO

/// `postgres://user:password@host:port/database[?sslmode=disable|prefer|require]` read into
/// PostgresNIO's client configuration, with a message saying what is wrong otherwise.
public struct PostgresURL: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var sslMode: String

    public init(_ text: String) throws(PostgresURLError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme) else {
            throw PostgresURLError("'\(Self.redacted(text))' is not a PostgreSQL URL: give postgres://user:password@host:5432/database")
        }
        guard let host = components.host, !host.isEmpty else {
            throw PostgresURLError("the PostgreSQL URL has no host: give postgres://user:password@host:5432/database")
        }
        guard let user = components.user, !user.isEmpty else {
            throw PostgresURLError("the PostgreSQL URL has no user name: give postgres://user:password@\(host)/database")
        }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw PostgresURLError("the PostgreSQL URL names no database: give postgres://\(user)@\(host)/database")
        }
        let mode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
        guard ["disable", "prefer", "require"].contains(mode) else {
            throw PostgresURLError("sslmode=\(mode) is not supported: use disable, prefer or require")
        }
        self.host = host
        self.port = components.port ?? 5432
        self.username = user.removingPercentEncoding ?? user
        self.password = components.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database.removingPercentEncoding ?? database
        self.sslMode = mode
    }

    /// The URL without its password, for logs and messages.
    public var description: String {
        "postgres://\(self.username)\(self.password == nil ? "" : ":***")@\(self.host):\(self.port)/\(self.database)?sslmode=\(self.sslMode)"
    }

    /// The same server, another database (the tests make one per test).
    public func database(_ name: String) -> PostgresURL {
        var url = self
        url.database = name
        return url
    }

    public var configuration: PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        switch self.sslMode {
        case "disable": tls = .disable
        case "require": tls = .require(.makeClientConfiguration())
        default: tls = .prefer(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(
            host: self.host, port: self.port, username: self.username, password: self.password, database: self.database, tls: tls
        )
        configuration.options.maximumConnections = 20
        return configuration
    }

    static func redacted(_ text: String) -> String {
        guard var components = URLComponents(string: text), components.password != nil else { return text }
        components.password = "***"
        return components.string ?? "the URL"
    }
}

public struct PostgresURLError: Error, CustomStringConvertible, Equatable {
    public let description: String
    init(_ description: String) { self.description = description }
}
