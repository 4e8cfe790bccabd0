import Foundation

/// This process's memory, read from /proc (Linux; nil where /proc is not there), and its CPU time.
enum ProcessMemory {
    /// Resident set size now, in bytes.
    static func residentBytes() -> Int? { self.statusField("VmRSS") }

    /// The highest resident set size since start or since `resetPeak()`, in bytes.
    static func peakResidentBytes() -> Int? { self.statusField("VmHWM") }

    /// Starts a new peak measurement (Linux: writing 5 to clear_refs resets VmHWM).
    static func resetPeak() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }

    /// CPU time this process used so far (user and system, every thread), in seconds.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        #if os(Linux)
        let who = __rusage_who_t(RUSAGE_SELF.rawValue)
        #else
        let who = RUSAGE_SELF
        #endif
        guard getrusage(who, &usage) == 0 else { return 0 }
        func value(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return value(usage.ru_utime) + value(usage.ru_stime)
    }

    /// The highest resident set size of another process, in bytes.
    static func peakResidentBytes(pid: Int32) -> Int? { self.statusField("VmHWM", of: "\(pid)") }

    private static func statusField(_ name: String, of process: String = "self") -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(process)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            let digits = line.split(separator: " ").dropFirst().first { Int($0) != nil }
            return digits.flatMap { Int($0) }.map { $0 * 1024 }
        }
        return nil
    }

    /// Bytes of every file directly in a directory.
    static func directoryBytes(_ path: String) -> Int {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return files.reduce(0) { total, name in
            let size = (try? FileManager.default.attributesOfItem(atPath: path + "/" + name)[.size] as? NSNumber)?.intValue ?? 0
            return total + size
        }
    }
}
