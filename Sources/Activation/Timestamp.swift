/// Fast parsing of the ISO 8601 forms profiles carry, to epoch milliseconds.
///
/// `ISO8601DateFormatter` costs microseconds per call; ingest parses one timestamp per membership
/// at tens of thousands of profiles a second, so this reads the digits directly.
public enum Timestamp {
    /// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.fff…]]` with `Z` or `±HH:MM` (or `±HHMM`) as UTC
    /// milliseconds. A date-time without a zone is read as UTC. Nil when it is not such a time.
    public static func parseMilliseconds(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { Self.parse($0) }
    }

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        var index = 0
        func digits(_ count: Int) -> Int? {
            guard index + count <= bytes.count else { return nil }
            var value = 0
            for offset in 0..<count {
                let byte = bytes[index + offset]
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            index += count
            return value
        }
        func expect(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }
        guard let year = digits(4), expect(UInt8(ascii: "-")), let month = digits(2), expect(UInt8(ascii: "-")),
              let day = digits(2), (1...12).contains(month), day >= 1, day <= Self.daysIn(month: month, year: year)
        else { return nil }
        var seconds = Self.daysFromEpoch(year: year, month: month, day: day) * 86_400
        var milliseconds = 0
        if index == bytes.count { return Int64(seconds) * 1000 }
        guard expect(UInt8(ascii: "T")) || expect(UInt8(ascii: " ")),
              let hour = digits(2), hour < 24, expect(UInt8(ascii: ":")), let minute = digits(2), minute < 60
        else { return nil }
        seconds += hour * 3600 + minute * 60
        if expect(UInt8(ascii: ":")) {
            guard let second = digits(2), second <= 60 else { return nil }
            seconds += second
            if expect(UInt8(ascii: ".")) || expect(UInt8(ascii: ",")) {
                var scale = 100
                var sawDigit = false
                while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                    milliseconds += Int(bytes[index] - 48) * scale
                    scale /= 10
                    index += 1
                    sawDigit = true
                }
                guard sawDigit else { return nil }
            }
        }
        if index < bytes.count {
            if expect(UInt8(ascii: "Z")) || expect(UInt8(ascii: "z")) {
                // UTC
            } else if bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                let sign = bytes[index] == UInt8(ascii: "+") ? 1 : -1
                index += 1
                guard let zoneHour = digits(2), zoneHour < 24 else { return nil }
                _ = expect(UInt8(ascii: ":"))
                guard let zoneMinute = digits(2), zoneMinute < 60 else { return nil }
                seconds -= sign * (zoneHour * 3600 + zoneMinute * 60)
            } else {
                return nil
            }
        }
        guard index == bytes.count else { return nil }
        return Int64(seconds) * 1000 + Int64(milliseconds)
    }

    /// Days from 1970-01-01 to a civil date (proleptic Gregorian calendar).
    static func daysFromEpoch(year: Int, month: Int, day: Int) -> Int {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
