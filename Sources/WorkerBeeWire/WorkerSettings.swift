import Foundation

/// What the worker needs to know at start-up, passed as JSON in its `--settings` argument.
public struct WorkerSettings: Codable, Sendable, Equatable {
    /// Where model names are resolved (`<dir>/<name>.gguf`).
    public var modelsDirectory: String
    /// The embedding model used when a request names none.
    public var embeddingModel: String
    /// The vision model used when a request names none; nil means vision is off.
    public var visionModel: String?
    /// The vision projector (mmproj) path; nil means discover it next to the model.
    public var visionProjector: String?
    /// Most tokens per text; nil means the model's own context.
    public var contextSize: Int?
    /// CPU threads; nil means all cores.
    public var threads: Int?
    /// Layers to offload to a GPU, when llama.cpp has one; nil means all, 0 means none.
    public var gpuLayers: Int?
    /// Most tokens in one llama.cpp call when embedding; nil means the engine's default.
    public var batchTokens: Int?
    /// The most memory the worker may allocate (`RLIMIT_DATA`), in bytes; nil means no limit.
    public var memoryLimit: Int?
    /// Batch-invariant vectors: nil when free, true always, false never (the engine's option).
    public var batchInvariant: Bool?
    /// The log file the worker points its fd 1 and fd 2 at; nil keeps the fd 2 it was given.
    public var logPath: String?

    /// Creates settings.
    public init(
        modelsDirectory: String, embeddingModel: String, visionModel: String? = nil, visionProjector: String? = nil,
        contextSize: Int? = nil, threads: Int? = nil, gpuLayers: Int? = nil, batchTokens: Int? = nil, memoryLimit: Int? = nil,
        logPath: String? = nil, batchInvariant: Bool? = nil
    ) {
        self.memoryLimit = memoryLimit
        self.batchInvariant = batchInvariant
        self.modelsDirectory = modelsDirectory
        self.embeddingModel = embeddingModel
        self.visionModel = visionModel.flatMap { $0.isEmpty ? nil : $0 }
        self.visionProjector = visionProjector.flatMap { $0.isEmpty ? nil : $0 }
        self.contextSize = contextSize
        self.threads = threads
        self.gpuLayers = gpuLayers
        self.batchTokens = batchTokens
        self.logPath = logPath.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The settings as one line of JSON.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// Parses settings from JSON.
    /// - Throws: `DecodingError` for bad JSON.
    public static func parse(_ json: String) throws -> WorkerSettings {
        try JSONDecoder().decode(WorkerSettings.self, from: Data(json.utf8))
    }
}
