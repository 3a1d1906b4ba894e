import Foundation

/// What the system says about other processes, for tests that check workers come and go.
public enum ProcessProbe {
    /// Whether `pid` is gone (or a zombie nobody has reaped yet, which runs nothing). A process
    /// whose state cannot be read counts as running, so a test cannot pass without checking.
    public static func isGone(_ pid: Int32) -> Bool {
        if kill(pid, 0) != 0 && errno == ESRCH { return true }
        #if os(Linux)
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        let state = stat.split(separator: ")").last?.split(separator: " ").first
        return state == "Z" || state == "X"
        #else
        var info = kinfo_proc()
        var size = MemoryLayout<kinfo_proc>.stride
        var name: [Int32] = [CTL_KERN, KERN_PROC, KERN_PROC_PID, pid]
        guard sysctl(&name, UInt32(name.count), &info, &size, nil, 0) == 0, size > 0 else { return false }
        return Int32(info.kp_proc.p_stat) == SZOMB
        #endif
    }

    /// The pids of `parent`'s children (by parent pid, the second field after the name in
    /// `/proc/PID/stat`) whose command line contains `needle`.
    public static func children(of parent: Int32, containing needle: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let fields = stat.split(separator: ")").last?.split(separator: " "), fields.count > 1, Int32(fields[1]) == parent,
                let cmdline = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))
            else { return false }
            return String(decoding: cmdline.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(needle)
        }
    }

    /// How long a poll waits by default: long enough for a loaded 2-core machine running the
    /// whole suite (the batcher tests once missed 10 s there).
    public static let defaultTimeout: Duration = .seconds(30)

    /// Checks `condition` every 20 ms until it holds or `timeout` passes. Only for facts that
    /// nothing announces (another process's state in `/proc`); wait for events everywhere else.
    /// The default timeout (``defaultTimeout``) only delays a failure: a condition that holds
    /// returns at once.
    public static func poll(timeout: Duration = defaultTimeout, until condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }

    /// Waits until an async `condition` holds (an actor's state), checking every 20 ms.
    /// - Returns: false if `timeout` passed first.
    public static func poll(timeout: Duration = defaultTimeout, until condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return await condition()
    }
}
