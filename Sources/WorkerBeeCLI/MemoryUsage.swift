import Foundation

/// Resident memory figures of a process, from /proc (Linux).
enum MemoryUsage {
    /// Peak resident set size (VmHWM) of `pid` in bytes, or nil where /proc is unavailable.
    static func peakResident(pid: Int32? = nil) -> Int? {
        value("VmHWM", pid: pid)
    }

    /// CPU time (user + system) this process has used, in seconds.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    /// Current resident set size (VmRSS) of `pid` in bytes.
    static func resident(pid: Int32? = nil) -> Int? {
        value("VmRSS", pid: pid)
    }

    private static func value(_ key: String, pid: Int32?) -> Int? {
        let path = "/proc/\(pid.map(String.init) ?? "self")/status"
        guard let status = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(key + ":") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 2, let kib = Int(fields[1]) { return kib * 1024 }
        }
        return nil
    }
}
