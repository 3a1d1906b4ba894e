import Foundation

/// The worker-log lines that bracket loading a model and its first (probe) decode.
///
/// The worker writes ``loading(_:pid:)`` before it touches a model file, and ``ready(_:pid:)``
/// once a one-text probe has run (or ``failed(_:pid:)`` when the load ends in an error). A worker
/// that dies after the first and before the second was killed by the model itself (ggml aborts
/// on many malformed files), which the host turns into a `modelCrashed` verdict instead of
/// retrying. The host reads these from its own copy of the worker's output (`WorkerLogPump`);
/// each line also names the worker's process id, because several WorkerBee processes with the
/// same home write to the same log files and a person (or a tool) reading the file must be able
/// to tell their workers apart.
public enum ModelLoadMarker {
    /// The line written by worker `pid` before loading `path`.
    public static func loading(_ path: String, pid: Int32) -> String { "model-load begin [pid \(pid)]: \(path)" }

    /// The line written by worker `pid` after `path` loaded and a probe decode ran.
    public static func ready(_ path: String, pid: Int32) -> String { "model-load ready [pid \(pid)]: \(path)" }

    /// The line written by worker `pid` when loading `path` ended in an error it reported.
    public static func failed(_ path: String, pid: Int32) -> String { "model-load failed [pid \(pid)]: \(path)" }

    /// The model whose load worker `pid` began in `log` and never finished, if any (the last one
    /// begun); other workers' lines are passed over.
    public static func unfinishedLoad(in log: String, pid: Int32) -> String? {
        let begin = "model-load begin [pid \(pid)]: ", ends = ["model-load ready [pid \(pid)]: ", "model-load failed [pid \(pid)]: "]
        var pending: String?
        for line in log.split(separator: "\n") {
            if let range = line.range(of: begin) {
                pending = String(line[range.upperBound...])
            } else if let end = ends.lazy.compactMap({ line.range(of: $0) }).first, String(line[end.upperBound...]) == pending {
                pending = nil
            }
        }
        return pending
    }

    /// The native code's own last words in `log`: the message of the last
    /// `file.c:123: message` line (how `GGML_ABORT` and `GGML_ASSERT` report), or nil.
    public static func nativeReason(in log: String) -> String? {
        let sourceSuffixes = [".c:", ".cc:", ".cpp:", ".h:", ".m:", ".mm:", ".cu:"]
        for line in log.split(separator: "\n").reversed() {
            let text = line.drop { $0 == " " || $0 == "|" }
            for suffix in sourceSuffixes {
                guard let range = text.range(of: suffix) else { continue }
                let rest = text[range.upperBound...]
                guard let colon = rest.firstIndex(of: ":"), rest[..<colon].allSatisfy(\.isNumber), !rest[..<colon].isEmpty else { continue }
                let message = rest[rest.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                if !message.isEmpty { return message }
            }
        }
        return nil
    }
}
