import Foundation

/// The worker-log lines that bracket loading a model and its first (probe) decode.
///
/// The worker writes ``loading(_:)`` before it touches a model file and ``ready(_:)`` once a
/// one-text probe has run. A worker that dies after the first and before the second was killed
/// by the model itself (ggml aborts on many malformed files), which the host turns into a
/// `modelCrashed` verdict instead of retrying.
public enum ModelLoadMarker {
    /// The line written before loading `path`.
    public static func loading(_ path: String) -> String { "model-load begin: \(path)" }

    /// The line written after `path` loaded and a probe decode ran.
    public static func ready(_ path: String) -> String { "model-load ready: \(path)" }

    /// The model whose load began in `log` and never finished, if any (the last one begun).
    public static func unfinishedLoad(in log: String) -> String? {
        var pending: String?
        for line in log.split(separator: "\n") {
            if let range = line.range(of: "model-load begin: ") {
                pending = String(line[range.upperBound...])
            } else if let range = line.range(of: "model-load ready: "), String(line[range.upperBound...]) == pending {
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
