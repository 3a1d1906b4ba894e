import Foundation
import WorkerBeeWire
import WorkerBeeModels

/// How a ``WorkerProcess`` runs its worker, in four groups: which ``Models``, how the
/// ``Engine`` runs them, the ``Timeouts`` that decide when a worker is stuck, and how the worker
/// is launched and where it logs (``Launch``).
///
/// ```swift
/// var configuration = WorkerConfiguration()
/// configuration.models.embedding = "all-minilm-l6-v2"
/// configuration.engine.threads = 2
/// configuration.timeouts.embed = .seconds(10)
/// ```
public struct WorkerConfiguration: Sendable {
    /// Which models the worker uses when a call names none.
    public struct Models: Sendable, Equatable {
        /// Where model names are resolved (default: `$WORKERBEE_HOME/models`).
        public var directory: URL
        /// The embedding model (a name in ``directory``, a file, or a store reference).
        public var embedding: ModelReference
        /// The expected embedding length; a model with another length is an error. nil accepts any.
        public var embeddingDimension: Int?
        /// The vision model; nil means vision OCR is off unless a call names a model.
        public var vision: ModelReference?
        /// The vision projector (mmproj) file; nil means discover it next to the model.
        public var visionProjector: URL?

        /// Creates a model selection.
        public init(
            directory: URL = ModelDirectory.standard.url, embedding: ModelReference = ModelReference(ModelDirectory.defaultEmbeddingModel),
            embeddingDimension: Int? = nil, vision: ModelReference? = nil, visionProjector: URL? = nil
        ) {
            self.directory = directory
            self.embedding = embedding
            self.embeddingDimension = embeddingDimension
            self.vision = vision
            self.visionProjector = visionProjector
        }
    }

    /// How llama.cpp runs inside the worker.
    public struct Engine: Sendable, Equatable {
        /// CPU threads; nil means all cores.
        public var threads: Int?
        /// Most tokens per text (longer texts are truncated); nil means the model's own context.
        public var contextSize: Int?
        /// Most tokens in one llama.cpp call when embedding; nil means the engine's default (256).
        public var batchTokens: Int?
        /// Model layers to offload to a GPU when llama.cpp was built with one (Metal, CUDA,
        /// Vulkan); nil means all of them, 0 means CPU only. Ignored by CPU-only builds.
        public var gpuLayers: Int?
        /// The most memory the worker may allocate (its data segment and anonymous mappings,
        /// `RLIMIT_DATA`), in bytes; nil means no limit. A model that does not fit fails with an
        /// error instead of drawing the kernel's OOM killer onto the machine.
        public var memoryLimit: Int?
        /// Whether a text's vector is the same bit for bit whatever it is batched with: nil (the
        /// default) when that costs nothing, which is with the llama.cpp that scripts/bootstrap
        /// builds; true also with another llama.cpp, at a cost in throughput on short texts;
        /// false never. See docs/PERFORMANCE.md.
        public var batchInvariant: Bool?

        /// Creates engine settings.
        public init(
            threads: Int? = nil, contextSize: Int? = nil, batchTokens: Int? = nil, gpuLayers: Int? = nil, memoryLimit: Int? = nil,
            batchInvariant: Bool? = nil
        ) {
            self.memoryLimit = memoryLimit
            self.batchInvariant = batchInvariant
            self.threads = threads
            self.contextSize = contextSize
            self.batchTokens = batchTokens
            self.gpuLayers = gpuLayers
        }
    }

    /// When a worker is considered stuck. A request that runs past its timeout kills the worker.
    ///
    /// Timeouts apply to each request the host sends to a worker, not to a whole call: a call
    /// with many texts is split into bounded requests (see ``WorkerProcess/embed(_:options:)``),
    /// each of which must finish within ``embed``.
    public struct Timeouts: Sendable, Equatable {
        /// How long one embed request may take (default 30 s); nil means no limit.
        public var embed: Duration?
        /// How long one vision OCR request (one image) may take (default 120 s); nil means no limit.
        public var ocr: Duration?
        /// How long a model load or unload may take (default 120 s); nil means no limit.
        public var load: Duration?
        /// How long the worker has to say hello after it is spawned (default 30 s).
        public var start: Duration
        /// How long a cancelled request has to stop before the worker is killed (default 2 s).
        public var cancelGrace: Duration

        /// Creates timeouts with the defaults described on each property.
        public init(
            embed: Duration? = .seconds(30), ocr: Duration? = .seconds(120), load: Duration? = .seconds(120),
            start: Duration = .seconds(30), cancelGrace: Duration = .seconds(2)
        ) {
            self.embed = embed
            self.ocr = ocr
            self.load = load
            self.start = start
            self.cancelGrace = cancelGrace
        }

        /// A timeout from seconds, where 0 or less means no limit (as command-line flags take it).
        public static func limit(seconds: Double) -> Duration? {
            seconds > 0 ? .milliseconds(Int64(seconds * 1000)) : nil
        }
    }

    /// How the worker process is started and where it logs.
    public struct Launch: Sendable, Equatable {
        /// The worker executable; nil means search for it (the configured path, the running program if it is `workerbee`, `workerbee` beside it, `$WORKERBEE_HOME/bin`, `PATH`).
        public var executable: URL?
        /// Arguments placed before the worker options (default `["worker"]`).
        public var arguments: [String]
        /// Extra environment variables for the worker.
        public var environment: [String: String]
        /// The folder of the worker log (default: `$WORKERBEE_HOME`).
        public var logDirectory: URL
        /// The log file's name inside ``logDirectory`` (default `worker.log`).
        public var logFileName: String

        /// Creates launch settings.
        public init(
            executable: URL? = nil, arguments: [String] = ["worker"], environment: [String: String] = [:],
            logDirectory: URL = ModelDirectory.home, logFileName: String = "worker.log"
        ) {
            self.executable = executable
            self.arguments = arguments
            self.environment = environment
            self.logDirectory = logDirectory
            self.logFileName = logFileName
        }

        /// The worker log's path.
        public var logURL: URL { logDirectory.appendingPathComponent(logFileName) }
    }

    /// Which models the worker uses.
    public var models: Models
    /// How llama.cpp runs.
    public var engine: Engine
    /// When a worker is considered stuck.
    public var timeouts: Timeouts
    /// How the worker is started and where it logs.
    public var launch: Launch
    /// How much one embed request may hold; calls of any size are split into such requests.
    public var requestLimit: EmbedRequestLimit

    /// Creates a configuration; every group defaults as described on its properties.
    public init(
        models: Models = Models(), engine: Engine = Engine(), timeouts: Timeouts = Timeouts(), launch: Launch = Launch(),
        requestLimit: EmbedRequestLimit = EmbedRequestLimit()
    ) {
        self.models = models
        self.engine = engine
        self.timeouts = timeouts
        self.launch = launch
        self.requestLimit = requestLimit
    }

    /// What the worker is told at start-up.
    var workerSettings: WorkerSettings {
        WorkerSettings(
            modelsDirectory: models.directory.path, embeddingModel: models.embedding.description, visionModel: models.vision?.description ?? "",
            visionProjector: models.visionProjector?.path ?? "", contextSize: engine.contextSize, threads: engine.threads,
            gpuLayers: engine.gpuLayers, batchTokens: engine.batchTokens, memoryLimit: engine.memoryLimit, batchInvariant: engine.batchInvariant)
    }
}
