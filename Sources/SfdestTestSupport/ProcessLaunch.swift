import Foundation

/// Starts child processes one at a time across the whole test binary. Foundation's `Process.run()`
/// on Linux copies the arguments and environment for `posix_spawn`; the suite's tests start
/// processes from many threads at once (the service binary, Python clients, openssl), and one
/// run crashed inside `Process.run()` while others were launching. Serializing the launch costs
/// microseconds; the processes still run side by side.
public enum ProcessLaunch {
    private static let lock = NSLock()

    public static func run(_ process: Process) throws {
        try self.lock.withLock { try process.run() }
    }
}
