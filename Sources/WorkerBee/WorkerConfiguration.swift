import Foundation
import WorkerBeeWire

/// How a ``WorkerProcess`` runs its worker: the seed's `ConfigSnapshot`, plus timeouts and the
/// executable to start.
public struct WorkerConfiguration: Sendable {
    /// Where model names are resolved (default: `$WORKERBEE_HOME/models`).
    public var modelsDirectory: URL
    /// The embedding model used when a call names none.
    public var embeddingModel: String
    /// The expected embedding length; a model with another length is an error. nil accepts any.
    public var embeddingDimension: Int?
    /// Tokens per text; nil means the model's own context.
    public var contextSize: Int?
    /// Fraction of GPU memory the worker may use; passed on (unused by CPU builds).
    public var gpuMemoryFraction: Double
    /// The vision model used when a call names none; empty disables vision OCR.
    public var visionModel: String
    /// The vision projector (mmproj) path; empty means discover it next to the model.
    public var visionProjector: String
    /// CPU threads for the worker; nil means all cores.
    public var threads: Int?
    /// Tokens per micro-batch in the worker; nil means the engine's default.
    public var batchTokens: Int?
    /// Where the worker log goes (default: `$WORKERBEE_HOME`).
    public var dataDirectory: URL
    /// The log file's name inside `dataDirectory`.
    public var logFileName: String
    /// How long an embed request may take (default 30 s); nil means no limit.
    public var embedTimeout: Duration?
    /// How long a vision request may take (default 120 s); nil means no limit (the seed's 0).
    public var ocrTimeout: Duration?
    /// How long model loads and unloads may take (default 120 s).
    public var loadTimeout: Duration?
    /// How long the worker has to say hello after it is spawned (default 30 s).
    public var startTimeout: Duration
    /// How long a cancelled request has to stop before the worker is killed (default 2 s).
    public var cancelGracePeriod: Duration
    /// The worker executable; nil means the `workerbee` binary next to this program, or on PATH.
    public var executable: URL?
    /// Arguments placed before the worker options (default `["worker"]`).
    public var executableArguments: [String]
    /// Extra environment variables for the worker.
    public var environment: [String: String]

    /// Creates a configuration with the defaults described on each property.
    public init(
        modelsDirectory: URL = ModelDirectory.standard.url,
        embeddingModel: String = ModelDirectory.defaultEmbeddingModel,
        embeddingDimension: Int? = nil,
        contextSize: Int? = nil,
        gpuMemoryFraction: Double = 1.0,
        visionModel: String = "",
        visionProjector: String = "",
        threads: Int? = nil,
        batchTokens: Int? = nil,
        dataDirectory: URL = ModelDirectory.home,
        logFileName: String = "worker.log",
        embedTimeout: Duration? = .seconds(30),
        ocrTimeout: Duration? = .seconds(120),
        loadTimeout: Duration? = .seconds(120),
        startTimeout: Duration = .seconds(30),
        cancelGracePeriod: Duration = .seconds(2),
        executable: URL? = nil,
        executableArguments: [String] = ["worker"],
        environment: [String: String] = [:]
    ) {
        self.modelsDirectory = modelsDirectory
        self.embeddingModel = embeddingModel
        self.embeddingDimension = embeddingDimension
        self.contextSize = contextSize
        self.gpuMemoryFraction = gpuMemoryFraction
        self.visionModel = visionModel
        self.visionProjector = visionProjector
        self.threads = threads
        self.batchTokens = batchTokens
        self.dataDirectory = dataDirectory
        self.logFileName = logFileName
        self.embedTimeout = embedTimeout
        self.ocrTimeout = ocrTimeout
        self.loadTimeout = loadTimeout
        self.startTimeout = startTimeout
        self.cancelGracePeriod = cancelGracePeriod
        self.executable = executable
        self.executableArguments = executableArguments
        self.environment = environment
    }

    /// The OCR timeout from seconds, as the seed's `cfg.ocr_timeout`: 0 means no limit.
    public static func ocrTimeout(seconds: Double) -> Duration? {
        seconds > 0 ? .milliseconds(Int64(seconds * 1000)) : nil
    }

    /// The worker log's path.
    public var logURL: URL { dataDirectory.appendingPathComponent(logFileName) }

    var workerSettings: WorkerSettings {
        WorkerSettings(
            modelsDirectory: modelsDirectory.path, embeddingModel: embeddingModel, visionModel: visionModel,
            visionProjector: visionProjector, contextSize: contextSize, threads: threads,
            gpuMemoryFraction: gpuMemoryFraction, batchTokens: batchTokens, logPath: logURL.path)
    }

    /// The executable to start: the configured one, else `workerbee` beside this program, else on PATH.
    func resolvedExecutable() throws(WorkerError) -> URL {
        if let executable { return executable }
        let own = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        var candidates: [URL] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: exe))
        }
        candidates.append(own)
        for candidate in candidates {
            if candidate.lastPathComponent == "workerbee" { return candidate }
            let sibling = candidate.deletingLastPathComponent().appendingPathComponent("workerbee")
            if FileManager.default.isExecutableFile(atPath: sibling.path) { return sibling }
        }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let path = URL(fileURLWithPath: String(directory)).appendingPathComponent("workerbee")
            if FileManager.default.isExecutableFile(atPath: path.path) { return path }
        }
        throw WorkerError(.spawnFailed, "cannot find the workerbee executable (not beside \(own.path) nor on PATH); set WorkerConfiguration.executable")
    }
}
