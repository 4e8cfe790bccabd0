/// The org's API consumption as Salesforce reports it on every REST answer
/// (`Sforce-Limit-Info: api-usage=USED/MAX`): calls in the last 24 hours and the daily allowance.
public struct APIUsage: Sendable, Equatable, CustomStringConvertible {
    public var used: Int
    public var max: Int

    public init(used: Int, max: Int) {
        self.used = used
        self.max = max
    }

    /// Calls left before the daily allowance is used up (never negative).
    public var remaining: Int { Swift.max(0, self.max - self.used) }

    public var description: String { "\(self.used)/\(self.max)" }

    /// Reads the `api-usage` entry of a `Sforce-Limit-Info` header value; other entries
    /// (`per-app-api-usage=17/250(appName=sample)`) are skipped. Nil when there is none.
    public init?(limitInfo: String) {
        for entry in limitInfo.split(separator: ",") {
            let pair = entry.split(separator: "=", maxSplits: 1)
            guard pair.count == 2,
                  pair[0].trimmingSpaces().lowercased() == "api-usage"
            else { continue }
            let numbers = pair[1].trimmingSpaces().split(separator: "/", maxSplits: 1)
            guard numbers.count == 2,
                  let used = Int(numbers[0].trimmingSpaces()),
                  let max = Int(numbers[1].prefix(while: { $0.isASCII && $0.isNumber })),
                  used >= 0, max >= 0
            else { return nil }
            self.init(used: used, max: max)
            return
        }
        return nil
    }
}

extension Substring {
    /// The substring without leading and trailing spaces and tabs.
    func trimmingSpaces() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = self.firstIndex(where: { !isSpace($0) }),
              let end = self.lastIndex(where: { !isSpace($0) })
        else { return self[self.endIndex...] }
        return self[start...end]
    }
}
