import ArgumentParser
import Foundation
import Logging
import WorkerBee
import WorkerBeeServer
import WorkerBeeWire

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

    func validate() throws {
        if port < 0 || port > 65535 { throw ValidationError("--port must be between 0 and 65535") }
        if maxInputs < 1 { throw ValidationError("--max-inputs must be at least 1") }
        if batchTexts < 1 { throw ValidationError("--batch-texts must be at least 1") }
    }

    func run() async throws {
        let models = modelsDirectory(embedding.modelsDir)
        let model = embedding.model
        let name = ModelDirectory.isPath(model) ? URL(fileURLWithPath: model).deletingPathExtension().lastPathComponent : model
        let pool = WorkerPool(
            configuration: WorkerConfiguration(
                models: .init(directory: models.url, embedding: model), engine: .init(memoryLimit: embedding.workerMemory?.bytes)),
            processes: embedding.workers, threadsPerProcess: embedding.threads)
        let server = EmbeddingServer(
            pool: pool,
            configuration: ServerConfiguration(
                host: host, port: port, apiKey: apiKey ?? ProcessInfo.processInfo.environment["WORKERBEE_API_KEY"].flatMap { $0.isEmpty ? nil : $0 },
                modelName: name, maxBodyBytes: maxBody.bytes, maxInputs: maxInputs, maxQueuedTokens: maxQueuedTokens, batchTexts: batchTexts,
                drainTimeout: .milliseconds(Int64(drainTimeout * 1000))),
            logger: Logger(label: "workerbee.server"))
        try await server.run { port in
            printError("workerbee serve: listening on http://\(host.contains(":") ? "[\(host)]" : host):\(port) (model \(name), \(pool.size) workers)")
        }
        printError("workerbee serve: stopped")
    }
}
