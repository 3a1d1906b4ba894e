import Foundation

/// Resident memory figures of a process, from /proc (Linux).
enum MemoryUsage {
    /// Peak resident set size (VmHWM) of `pid` in bytes, or nil where /proc is unavailable.
    static func peakResident(pid: Int32? = nil) -> Int? {
        value("VmHWM", pid: pid)
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
