internal import CLlama
import CWorkerBeeSystem
import Foundation
import GGUF
import Synchronization

/// Process-wide llama.cpp set-up: backend initialisation and where its log goes.
public enum LlamaRuntime {
    /// How much of llama.cpp's log to keep.
    public enum LogLevel: Int, Sendable {
        case debug = 1, info = 2, warning = 3, error = 4, silent = 99
    }

    /// The log filter. llama.cpp and ggml call the log callback from several threads, so the
    /// level and the "was the line this continues kept" flag live behind one lock.
    private struct LogFilter {
        var minimumLevel = LogLevel.warning.rawValue
        var lastLineKept = false
    }
    private static let filter = Mutex(LogFilter())
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
        filter.withLock { $0.minimumLevel = logLevel.rawValue }
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

    /// The patches WorkerBee applied to the linked llama.cpp (none for a llama.cpp that
    /// scripts/bootstrap did not build).
    public static var patches: Set<String> {
        guard let list = wb_llama_patches() else { return [] }
        return Set(String(cString: list).split(separator: ",").map(String.init))
    }

    /// Whether llama.cpp's tiled flash attention follows sequences (WorkerBee's patch), so that
    /// packed texts get the vectors they would get alone.
    public static var flashAttentionFollowsSequences: Bool { patches.contains("flash-attention-follows-sequences") }

    /// Which llama.cpp this program links: the library's file and, when `scripts/bootstrap` built
    /// it, the `llama.pc` description it wrote (e.g. "llama.cpp from llama-cpp-python 0.3.36").
    public static var library: String {
        let symbol = unsafeBitCast(llama_print_system_info as @convention(c) () -> UnsafePointer<CChar>?, to: UnsafeRawPointer.self)
        guard let name = wb_library_path_of(symbol) else { return "llama.cpp (location unknown)" }
        // The folder the loader found it in (before symlinks), where the bootstrap's llama.pc sits.
        let path = URL(fileURLWithPath: String(cString: name))
        let pc = path.deletingLastPathComponent().appendingPathComponent("pkgconfig/llama.pc")
        let description = (try? String(contentsOf: pc, encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("Description:") }
            .map { $0.dropFirst("Description:".count).trimmingCharacters(in: .whitespaces) }
        return path.path + (description.map { " (\($0))" } ?? "")
    }

    private static func log(level: Int, text: UnsafePointer<CChar>?) {
        guard let text else { return }
        // GGML_LOG_LEVEL_CONT (5) continues the previous line at its level. The write happens
        // under the lock so that a line and its continuation stay together.
        filter.withLock { filter in
            let keep = level == 5 ? filter.lastLineKept : level >= filter.minimumLevel
            filter.lastLineKept = keep
            if keep { _ = write(2, text, strlen(text)) }
        }
    }
}

extension LlamaRuntime {
    /// Loads a model file through llama.cpp (memory-mapped), or nil if llama.cpp refuses it.
    static func loadModel(at url: URL, gpuLayers: Int?) -> OpaquePointer? {
        ensureStarted()
        var parameters = llama_model_default_params()
        parameters.n_gpu_layers = offloadedLayers(gpuLayers)
        parameters.load_mode = LLAMA_LOAD_MODE_MMAP
        return llama_model_load_from_file(url.path, parameters)
    }

    /// Why llama.cpp refused `url`, from the project's own GGUF reader (precise about truncation,
    /// corruption and projector files, which llama.cpp only reports in its log).
    /// - Parameter purpose: what the file was meant to be, e.g. "an embedding model".
    static func explainLoadFailure(_ url: URL, purpose: String) -> EngineError {
        let file: GGUFFile
        do {
            file = try GGUFFile(contentsOf: url)
        } catch {
            return EngineError(.invalidModel, "\(url.path) is not a usable GGUF model: \(error.message)")
        }
        let architecture = file.architecture ?? "unknown"
        if architecture == "clip" {
            return EngineError(purpose == "an embedding model" ? .cannotEmbed : .invalidModel, "\(url.lastPathComponent) is a vision projector (mmproj), not \(purpose)")
        }
        return EngineError(.loadFailed, "llama.cpp could not load \(url.path) (architecture \(architecture)); see the log for its reason")
    }

    /// Layers to offload for a `gpuLayers` setting: nil means all when llama.cpp can offload
    /// (a Metal, CUDA or Vulkan build), none otherwise.
    static func offloadedLayers(_ gpuLayers: Int?) -> Int32 {
        guard llama_supports_gpu_offload() else { return 0 }
        return Int32(clamping: gpuLayers ?? Int(Int32.max))
    }
}
