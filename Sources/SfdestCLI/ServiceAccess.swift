import Foundation

/// Where the CLI's API key comes from: `SFDEST_API_KEY` or a file (`--api-key-file`), never a
/// command-line value, which every user of the machine can read in `ps`.
public enum ServiceAccess {
    /// The key, and the warnings to print on stderr before using it.
    public struct Resolved: Sendable, Equatable {
        public var key: String
        public var warnings: [String]

        public init(key: String, warnings: [String]) {
            self.key = key
            self.warnings = warnings
        }
    }

    /// The key from `keyFile` (its first line), else `SFDEST_API_KEY`, else the deprecated
    /// `--api-key` value (with a warning); `dataDirectoryGiven` explains why `--data-dir` no
    /// longer yields one.
    public static func resolve(
        environment: [String: String], keyFile: String?, commandLineKey: String?, dataDirectoryGiven: Bool = false
    ) throws -> Resolved {
        var warnings: [String] = []
        if commandLineKey != nil {
            warnings.append("warning: --api-key is deprecated: other users of this machine can read it in `ps`; set SFDEST_API_KEY or use --api-key-file FILE")
        }
        if let keyFile {
            let text: String
            do {
                text = try String(contentsOfFile: keyFile, encoding: .utf8)
            } catch {
                throw Failure("cannot read the API key file \(keyFile): \(error.localizedDescription)")
            }
            let key = text.split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard !key.isEmpty else { throw Failure("the API key file \(keyFile) is empty: put the key on its first line") }
            return Resolved(key: key, warnings: warnings)
        }
        if let fromEnvironment = environment["SFDEST_API_KEY"], !fromEnvironment.isEmpty {
            return Resolved(key: fromEnvironment, warnings: warnings)
        }
        if let commandLineKey, !commandLineKey.isEmpty {
            return Resolved(key: commandLineKey, warnings: warnings)
        }
        let dataDirectory = dataDirectoryGiven
            ? " (the data directory keeps only the bootstrap key's hash, so --data-dir cannot supply it)" : ""
        throw Failure("no API key: set SFDEST_API_KEY or pass --api-key-file FILE\(dataDirectory)")
    }

    /// A warning when the key would travel in the clear to another machine: plain `http://` to a
    /// host that is not loopback.
    public static func plainHTTPWarning(url: String) -> String? {
        guard let components = URLComponents(string: url), components.scheme?.lowercased() == "http" else { return nil }
        let host = (components.host ?? "").lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let loopback = host == "localhost" || host == "::1" || host.hasPrefix("127.") || host.hasSuffix(".localhost")
        guard !loopback else { return nil }
        return "warning: sending the API key over plain http to \(host): anyone on the network path can read it; use https"
    }

    /// A key that cannot be had, with what to do about it.
    public struct Failure: Error, CustomStringConvertible, Equatable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }
}
