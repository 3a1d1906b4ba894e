internal import CLlama
import Foundation

/// Process-wide llama.cpp set-up: backend initialisation and where its log goes.
public enum LlamaRuntime {
    /// How much of llama.cpp's log to keep.
    public enum LogLevel: Int, Sendable {
        case debug = 1, info = 2, warning = 3, error = 4, silent = 99
    }

    nonisolated(unsafe) private static var minimumLevel = LogLevel.warning.rawValue
    nonisolated(unsafe) private static var lastLineKept = false
    private static let initialise: Void = {
        llama_log_set({ level, text, _ in LlamaRuntime.log(level: Int(level.rawValue), text: text) }, nil)
        mtmd_helper_log_set({ level, text, _ in LlamaRuntime.log(level: Int(level.rawValue), text: text) }, nil)
        llama_backend_init()
    }()

    /// Initialises llama.cpp once and routes its log to standard error at `level` and above.
    ///
    /// In the worker, standard error is `worker.log`; in-process callers usually want
    /// `.warning` (the default) so that model loading stays quiet.
    public static func start(logLevel: LogLevel) {
        minimumLevel = logLevel.rawValue
        _ = initialise
    }

    /// Initialises llama.cpp once, keeping the current log level.
    public static func ensureStarted() {
        _ = initialise
    }

    /// llama.cpp's system information line (SIMD features, backends).
    public static var systemInfo: String {
        ensureStarted()
        return String(cString: llama_print_system_info()).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func log(level: Int, text: UnsafePointer<CChar>?) {
        guard let text else { return }
        // GGML_LOG_LEVEL_CONT (5) continues the previous line at its level.
        let keep = level == 5 ? lastLineKept : level >= minimumLevel
        lastLineKept = keep
        if keep { _ = write(2, text, strlen(text)) }
    }
}
