import ArgumentParser
import Foundation
import Logging
import WorkerBee
import WorkerBeeServer
import WorkerBeeWire
import WorkerBeeModels

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve embeddings over HTTP: OpenAI's /v1/embeddings, Ollama's /api/embed, and more.",
        discussion: """
            Binds to 127.0.0.1 unless --host says otherwise. Concurrent requests are batched together onto \
            a pool of supervised workers; a worker that crashes is replaced and its batch sent again. \
            SIGTERM or SIGINT stops accepting work (/ready answers 503), finishes what is in flight, stops \
            the workers and exits 0. See docs/SERVER.md.
            """
    )

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free one and prints it).")
    var port: Int = 8080

    @OptionGroup var embedding: EmbeddingOptions

    @Option(help: "Vision model for /v1/ocr: a name in the models folder or a path to its text model GGUF (default: $WORKERBEE_VISION_MODEL; none: /v1/ocr answers 404).")
    var visionModel: String?

    @Option(help: "The vision model's projector (mmproj) GGUF; default: *mmproj*.gguf beside it.")
    var mmproj: String?

    @Option(help: "Seconds one OCR page may take; 0 means no limit.")
    var ocrTimeout: Double = 120

    @Option(help: "Most pages in one /v1/ocr document.")
    var maxPages: Int = 100

    @Option(help: "Require this bearer token (default: $WORKERBEE_API_KEY; none if unset).")
    var apiKey: String?

    @Option(help: "Most inputs in one request.")
    var maxInputs: Int = 2048

    @Option(help: "Largest request body, e.g. 16M.")
    var maxBody: ByteCount = ByteCount(argument: "16M")!

    @Option(help: "Most estimated tokens waiting in the queue before requests get 429.")
    var maxQueuedTokens: Int = 262_144

    @Option(help: "Most texts in one batch sent to a worker (smaller batches: lower latency, less throughput).")
    var batchTexts: Int = 16

    @Option(help: "Seconds to finish requests in flight on shutdown.")
    var drainTimeout: Double = 30

    @Option(help: "How long a model that a request named (other than --model) stays loaded after its last request: 5m, 1h, 30s, 0 (unload at once), -1 (until the server stops).")
    var keepAlive: String = "5m"

    @Option(name: .customLong("prompt"), help: "A prompt every model gets, adding to or overriding its own: NAME=TEXT, e.g. query='query: ' (repeat for more). Requests choose one with prompt_name or input_type.")
    var promptOptions: [String] = []

    @Option(parsing: .upToNextOption, help: "Models (names in the models folder) to load at start besides --model and keep loaded; the server is ready once they answer.")
    var preload: [String] = []

    @Option(help: "Most models loaded at once besides --model; a load that does not fit unloads the least recently used idle one (default: no limit).")
    var maxLoadedModels: Int?

    @Option(help: "Most memory for models loaded besides --model, e.g. 8G: each counts its file size once per worker (default: no limit).")
    var memoryBudget: ByteCount?

    @Option(help: "Export OpenTelemetry traces (a span per request, with its queue wait, batches and worker exchanges) to this OTLP/HTTP collector, e.g. http://127.0.0.1:4318 (spans go to /v1/traces under it; a URL with a path is used as it is). Default: no traces.")
    var otlpEndpoint: String?

    func validate() throws {
        if port < 0 || port > 65535 { throw ValidationError("--port must be between 0 and 65535") }
        if maxInputs < 1 { throw ValidationError("--max-inputs must be at least 1") }
        if batchTexts < 1 { throw ValidationError("--batch-texts must be at least 1") }
        if ocrTimeout < 0 { throw ValidationError("--ocr-timeout cannot be negative") }
        if maxPages < 1 { throw ValidationError("--max-pages must be at least 1") }
        if KeepAliveValue.parse(keepAlive) == nil { throw ValidationError("--keep-alive must be a duration such as 5m, 30s or 1h, a number of seconds, 0 or -1") }
        if let maxLoadedModels, maxLoadedModels < 1 { throw ValidationError("--max-loaded-models must be at least 1") }
        if let otlpEndpoint, let problem = TraceExport(endpoint: otlpEndpoint).problem { throw ValidationError("--otlp-endpoint: \(problem)") }
        for prompt in promptOptions where !prompt.contains("=") || prompt.hasPrefix("=") {
            throw ValidationError("--prompt takes NAME=TEXT, e.g. query='query: '; got \(prompt)")
        }
    }

    /// The limits on models loaded on demand.
    var modelLimits: ModelPools.Limits {
        let keep: Duration? = switch KeepAliveValue.parse(keepAlive) ?? .standard {
        case .duration(let duration): duration
        case .forever: nil
        case .standard: .seconds(300)
        }
        return ModelPools.Limits(keepAlive: keep, maxLoadedModels: maxLoadedModels, memoryBudget: memoryBudget?.bytes)
    }

    func run() async throws {
        let models = modelsDirectory(embedding.modelsDir)
        let model = embedding.model
        let name = ModelDirectory.isPath(model) ? URL(fileURLWithPath: model).deletingPathExtension().lastPathComponent : model
        let vision = (visionModel ?? ProcessInfo.processInfo.environment["WORKERBEE_VISION_MODEL"]).flatMap { $0.isEmpty ? nil : $0 }
        let pool = WorkerPool(
            configuration: WorkerConfiguration(
                models: .init(directory: models.url, embedding: ModelReference(model), vision: vision.map { ModelReference($0) }, visionProjector: mmproj.map { URL(fileURLWithPath: ($0 as NSString).expandingTildeInPath) }),
                engine: embedding.engine,
                timeouts: .init(ocr: WorkerConfiguration.Timeouts.limit(seconds: ocrTimeout))),
            processes: embedding.workers, threadsPerProcess: embedding.threads)
        var configuration = ServerConfiguration(
            host: host, port: port, apiKey: apiKey ?? ProcessInfo.processInfo.environment["WORKERBEE_API_KEY"].flatMap { $0.isEmpty ? nil : $0 },
            modelName: name, maxBodyBytes: maxBody.bytes, maxInputs: maxInputs, maxQueuedTokens: maxQueuedTokens, batchTexts: batchTexts,
            drainTimeout: .milliseconds(Int64(drainTimeout * 1000)), maxOCRPages: maxPages)
        configuration.modelLimits = modelLimits
        configuration.preload = preload
        configuration.traceExport = otlpEndpoint.map { TraceExport(endpoint: $0) }
        configuration.prompts = Dictionary(promptOptions.map { option in
            let parts = option.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]), String(parts[1]))
        }, uniquingKeysWith: { _, last in last })
        let server = EmbeddingServer(pool: pool, configuration: configuration, logger: Logger(label: "workerbee.server"))
        // READY=1 to a supervisor's $NOTIFY_SOCKET once the model answers (systemd Type=notify).
        let notifier = ServiceNotifier()
        let readiness = Task {
            if await server.waitUntilReadyOrBroken() == nil { notifier.send("READY=1") }
        }
        defer { readiness.cancel() }
        try await server.run { port in
            printError("workerbee serve: listening on http://\(host.contains(":") ? "[\(host)]" : host):\(port) (model \(name)\(vision.map { ", vision model \($0)" } ?? ""), \(pool.size) workers)")
        }
        printError("workerbee serve: stopped")
    }
}
