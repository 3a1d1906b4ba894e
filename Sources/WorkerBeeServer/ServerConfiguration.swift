import Foundation
import WorkerBee
import WorkerBeeWire
import WorkerBeeModels

/// How `workerbee serve` listens, what it accepts, and how it batches.
public struct ServerConfiguration: Sendable {
    /// The address to bind (default `127.0.0.1`: loopback only).
    public var host: String
    /// The port (default 8080; 0 picks a free one).
    public var port: Int
    /// The bearer token clients must send (`Authorization: Bearer KEY`); nil means none.
    /// `/health` and `/metrics` stay open.
    public var apiKey: String?
    /// The model name clients see, and the one used when a request names none.
    public var modelName: String
    /// Largest request body accepted, in bytes (default 16 MiB; larger gets 413).
    public var maxBodyBytes: Int
    /// Most inputs in one embedding request (default 2,048, as OpenAI; more gets 413).
    public var maxInputs: Int
    /// Most estimated tokens waiting in the queue (default 262,144); a request that would go
    /// beyond gets 429 with `Retry-After`. Tokens are estimated from UTF-8 bytes (a quarter of
    /// them, plus 2 per text) since the host has no tokenizer.
    public var maxQueuedTokens: Int
    /// Most texts in one coalesced worker batch (default 16: at 64 concurrent one-sentence
    /// clients, 16 gave the same throughput as 256 with a p99 of 535 ms instead of 717-852 ms;
    /// see docs/PERFORMANCE.md).
    public var batchTexts: Int
    /// Most estimated tokens in one coalesced worker batch (default 8,192).
    public var batchTokens: Int
    /// How long graceful shutdown waits for requests in flight (default 30 s).
    public var drainTimeout: Duration
    /// Most pages in one `/v1/ocr` document (default 100; more gets 413).
    public var maxOCRPages: Int
    /// How models other than the default one, loaded when a request names them, stay loaded
    /// (keep-alive 5 minutes, no count or memory bound by default). The default model stays
    /// loaded for the life of the server.
    public var modelLimits: ModelPools.Limits = ModelPools.Limits()
    /// Models (names in the models folder) loaded at start besides the default one, with a
    /// keep-alive of forever (they can still be unloaded to make room, or by a request's
    /// `keep_alive`); the server is ready once they all answer.
    public var preload: [String] = []
    /// Prompts added to every model's own (or overriding them), by name: `query` → `query: `.
    public var prompts: [String: String] = [:]
    /// Where spans go (`--otlp-endpoint`): one per request, with children for its queue wait,
    /// the batches its texts went in and their worker exchanges (docs/SERVER.md, "Traces"). nil
    /// (the default): no exporter; spans then go to the process's `InstrumentationSystem` tracer,
    /// a no-op unless the app bootstrapped one.
    public var traceExport: TraceExport? = nil

    /// Creates a configuration with the defaults described on each property.
    public init(
        host: String = "127.0.0.1", port: Int = 8080, apiKey: String? = nil, modelName: String = ModelDirectory.defaultEmbeddingModel,
        maxBodyBytes: Int = 16 << 20, maxInputs: Int = 2048, maxQueuedTokens: Int = 262_144, batchTexts: Int = 16,
        batchTokens: Int = 8192, drainTimeout: Duration = .seconds(30), maxOCRPages: Int = 100
    ) {
        self.host = host
        self.port = port
        self.apiKey = apiKey
        self.modelName = modelName
        self.maxBodyBytes = maxBodyBytes
        self.maxInputs = maxInputs
        self.maxQueuedTokens = maxQueuedTokens
        self.batchTexts = batchTexts
        self.batchTokens = batchTokens
        self.drainTimeout = drainTimeout
        self.maxOCRPages = maxOCRPages
    }

    /// The batcher's limits from this configuration.
    var batchLimits: EmbeddingBatcher.Limits {
        EmbeddingBatcher.Limits(batchTexts: batchTexts, batchTokens: batchTokens, maxQueuedTokens: maxQueuedTokens)
    }
}
