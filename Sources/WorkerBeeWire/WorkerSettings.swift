import Foundation

/// What the worker needs to know at start-up, passed as JSON in its `--settings` argument.
public struct WorkerSettings: Codable, Sendable, Equatable {
    /// Where model names are resolved (`<dir>/<name>.gguf`).
    public var modelsDirectory: String
    /// The embedding model used when a request names none.
    public var embeddingModel: String
    /// The vision model used when a request names none; empty means vision is off.
    public var visionModel: String
    /// The vision projector (mmproj) path; empty means discover it.
    public var visionProjector: String
    /// Context size per sequence; nil means the model's own.
    public var contextSize: Int?
    /// CPU threads; nil means all cores.
    public var threads: Int?
    /// Fraction of GPU memory the worker may use (kept for GPU builds; unused on CPU).
    public var gpuMemoryFraction: Double
    /// Tokens per micro-batch when embedding.
    public var batchTokens: Int?
    /// The log file the worker points its fd 1 and fd 2 at; empty keeps the fd 2 it was given.
    public var logPath: String

    /// Creates settings.
    public init(
        modelsDirectory: String, embeddingModel: String, visionModel: String = "", visionProjector: String = "",
        contextSize: Int? = nil, threads: Int? = nil, gpuMemoryFraction: Double = 1.0, batchTokens: Int? = nil,
        logPath: String = ""
    ) {
        self.modelsDirectory = modelsDirectory
        self.embeddingModel = embeddingModel
        self.visionModel = visionModel
        self.visionProjector = visionProjector
        self.contextSize = contextSize
        self.threads = threads
        self.gpuMemoryFraction = gpuMemoryFraction
        self.batchTokens = batchTokens
        self.logPath = logPath
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
