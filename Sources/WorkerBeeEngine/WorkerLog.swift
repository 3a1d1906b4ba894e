import Foundation

/// The worker's own log lines, written to its standard error (the worker log file).
///
/// Lines are written with one `write(2)` each, so lines from the reader thread and the request
/// loop never interleave mid-line.
enum WorkerLog {
    /// Writes `[timestamp] workerbee: message` as one line.
    static func write(_ message: String) {
        let line = "[\(Date().formatted(.iso8601))] workerbee: \(message)\n"
        _ = line.withCString { Foundation.write(2, $0, strlen($0)) }
    }
}
