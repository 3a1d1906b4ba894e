import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Tracing
import UnixSignals
import WorkerBee
import WorkerBeeWire
import WorkerBeeModels

/// `workerbee serve`: OpenAI- and Ollama-compatible embedding routes over a ``WorkerPool``.
///
/// Runs as a swift-service-lifecycle group of services, shut down in reverse order on SIGTERM or
/// SIGINT: readiness turns to "draining" first (`/ready` answers 503 and new embedding requests
/// are refused), then the HTTP server finishes the requests in flight (within the drain
/// timeout), then the workers are stopped, and last the trace exporter, when there is one
/// (``ServerConfiguration/traceExport``), sends the spans it holds.
public final class EmbeddingServer: Sendable {
    /// The default model's workers.
    public let pool: WorkerPool
    /// The other models requests name, each in workers of its own, loaded on demand and
    /// unloaded when idle (``ServerConfiguration/modelLimits``).
    public let models: ModelPools
    /// How the server listens and batches.
    public let configuration: ServerConfiguration
    let logger: Logger
    let metrics = ServerMetrics()
    let readiness = Readiness()
    private let running = Mutex<ServiceGroup?>(nil)

    /// Creates a server over `pool`; nothing runs until ``run(onListening:)``.
    public init(pool: WorkerPool, configuration: ServerConfiguration, logger: Logger = Logger(label: "workerbee.server")) {
        self.pool = pool
        models = ModelPools(
            configuration: pool.configuration, processes: pool.size, threadsPerProcess: pool.configuration.engine.threads,
            limits: configuration.modelLimits, logger: logger)
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs until SIGTERM or SIGINT (then drains and returns), or until the task is cancelled.
    /// - Parameters:
    ///   - gracefulShutdownSignals: the signals that start a graceful shutdown.
    ///   - onListening: called with the bound port once the server accepts connections.
    /// - Throws: when the server cannot bind or a service fails.
    public func run(gracefulShutdownSignals: [UnixSignal] = [.sigterm, .sigint], onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        var groupConfiguration = ServiceGroupConfiguration(
            services: services(onListening: onListening), gracefulShutdownSignals: gracefulShutdownSignals, cancellationSignals: [], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = configuration.drainTimeout
        let group = ServiceGroup(configuration: groupConfiguration)
        running.withLock { $0 = group }
        defer { running.withLock { $0 = nil } }
        try await group.run()
    }

    /// The server as services, for an app that runs them in a `ServiceGroup` of its own (next to
    /// its own services, with its own signal handling): the trace exporter (when the configuration
    /// has one), the workers, the HTTP server, and the warm-up that sets readiness and turns it to
    /// draining on graceful shutdown. List them in this order so that a graceful shutdown drains
    /// HTTP before the workers stop, and the exporter sends the last spans after both; give the group
    /// a `maximumGracefulShutdownDuration` (the CLI uses the drain timeout). ``shutdown()`` works
    /// only for ``run(gracefulShutdownSignals:onListening:)``; in your own group, trigger its
    /// graceful shutdown.
    /// - Parameter onListening: called with the bound port once the server accepts connections.
    public func services(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        let batcher = EmbeddingBatcher(pool: pool, limits: configuration.batchLimits, observer: metrics.batcherObserver(model: configuration.modelName))
        let routes = EmbeddingRoutes(
            pool: pool, batcher: batcher, models: models,
            batchers: ModelBatchers(models: models, limits: configuration.batchLimits, metrics: metrics),
            prompts: PromptBook(directory: ModelDirectory(url: pool.configuration.models.directory), overrides: configuration.prompts),
            configuration: configuration, metrics: metrics, readiness: readiness,
            catalog: ModelCatalog(folder: ModelDirectory(url: pool.configuration.models.directory)))
        let router = Router(context: ServerRequestContext.self)
        let hangUps = HangUpDetector()
        let logger = logger
        let traces = makeTraceExport()
        router.add(middleware: RequestTracingMiddleware(tracer: traces?.tracer))
        router.add(middleware: AccessMiddleware(apiKey: configuration.apiKey, metrics: metrics, logger: logger))
        let limit = configuration.maxBodyBytes
        /// A POST route whose handler gets the whole body (at most `--max-body`; more is a 413),
        /// and is cancelled if its client hangs up (its queued texts are then dropped).
        func post(_ path: RouterPath, _ handle: @escaping @Sendable (Request, ByteBuffer) async throws -> Response) {
            router.post(path) { request, context in
                var request = request
                let body = try await request.collectBody(upTo: limit)
                logger.debug(
                    "\(request.method) \(request.uri.path): body of \(body.readableBytes) bytes read",
                    metadata: ["request_id": "\(context.requestID)"])
                let complete = request
                return try await hangUps.cancellingOnHangUp(context.channel) { try await handle(complete, body) }
            }
        }
        let ocr = OCRRoutes(pool: pool, models: models, configuration: configuration, readiness: readiness)
        post("/v1/embeddings") { try await routes.openAIEmbeddings($1) }
        post("/api/embed") { try await routes.ollamaEmbed($1) }
        post("/api/embeddings") { try await routes.ollamaEmbeddings($1) }
        post("/tokenize") { try await routes.tokenize($1) }
        post("/v1/ocr") { try await ocr.ocr($0, body: $1) }
        let rerank = RerankRoutes(routes: routes)
        post("/v1/rerank") { try await rerank.rerank($1) }
        post("/v1/reranking") { try await rerank.rerank($1) }
        post("/rerank") { try await rerank.rerankEitherShape($1) }
        router.get("/v1/models") { _, _ in await routes.openAIModels() }
        router.get("/api/tags") { _, _ in routes.ollamaTags() }
        router.get("/api/ps") { _, _ in await routes.ollamaLoaded() }
        router.get("/health") { _, _ in routes.health() }
        router.get("/ready") { _, _ in routes.ready() }
        router.get("/metrics") { _, _ in await routes.metricsText() }

        let app = Application(
            router: router, server: .http1(additionalChannelHandlers: [hangUps.makeHandler()]), configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "WorkerBee"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) }, logger: logger)
        let startup = ServerStartup(pool: pool, models: models, preload: configuration.preload.filter { $0 != configuration.modelName }.map { ModelReference($0) }, readiness: readiness, metrics: metrics, logger: logger)
        // The exporter first: it stops last, after the requests drained and the workers stopped.
        // Losing it costs the traces, not the server.
        let exporter: [ServiceGroupConfiguration.ServiceConfiguration] =
            traces.map { [.init(service: $0.service, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore)] } ?? []
        return exporter + [
            .init(service: pool),
            .init(service: models),
            .init(service: app),
            .init(service: startup, successTerminationBehavior: .ignore),
        ]
    }
}

extension EmbeddingServer {
    /// The tracer and exporter service for ``ServerConfiguration/traceExport``; nil when there is
    /// none, or when it cannot be set up (logged: the server runs without traces rather than not
    /// at all).
    func makeTraceExport() -> (tracer: any Tracer, service: any Service)? {
        guard let export = configuration.traceExport else { return nil }
        if let problem = export.problem {
            logger.error("traces are off: \(problem)")
            return nil
        }
        do {
            let backend = try export.makeBackend(logger: logger)
            logger.info("exporting traces to \(export.tracesURL) (OTLP/HTTP, protobuf)")
            return backend
        } catch {
            logger.error("traces are off: the exporter for \(export.tracesURL) cannot be set up: \(error)")
            return nil
        }
    }

    /// Waits until the server is ready to embed (returns nil) or its model cannot be used
    /// (returns why); the readiness `/ready` reports, as an event.
    public func waitUntilReadyOrBroken() async -> String? {
        for await state in readiness.changes() {
            switch state {
            case .ready: return nil
            case .broken(let reason): return reason
            case .draining: return "the server is shutting down"
            case .starting: continue
            }
        }
        return "the server stopped"
    }

    /// Starts a graceful shutdown, as SIGTERM does: readiness turns to draining, requests in
    /// flight finish, the workers stop, and ``run(gracefulShutdownSignals:onListening:)`` returns.
    public func shutdown() async {
        await running.withLock { $0 }?.triggerGracefulShutdown()
    }
}

/// Warms the workers up (readiness turns to ready, or to broken with the reason), follows their
/// events into the metrics, and on graceful shutdown turns readiness to draining first.
struct ServerStartup: Service {
    /// Runs one embedding through a model, or one pair when the model cannot embed (a
    /// reranker; for any other model the pair fails too, with the reason the worker gives).
    static func warmUp(_ embed: () async throws -> Embeddings, reranker: () async throws -> Rerankings) async throws {
        do {
            _ = try await embed()
        } catch let error as WorkerError where error.code == .cannotEmbed {
            _ = try await reranker()
        }
    }

    let pool: WorkerPool
    let models: ModelPools
    let preload: [ModelReference]
    let readiness: Readiness
    let metrics: ServerMetrics
    let logger: Logger

    func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            for worker in pool.workers {
                group.addTask { await metrics.follow(worker) }
            }
            group.addTask {
                // Until the model answers: a broken model stays "broken" (503 with the reason),
                // tried again every 5 s in case the file is replaced.
                while !Task.isCancelled {
                    do {
                        try await Self.warmUp { try await pool.embed(["warm up"]) } reranker: { try await pool.rerank("warm up", documents: ["warm up"]) }
                        // Models to preload stay loaded until the server stops.
                        for model in preload {
                            try await Self.warmUp {
                                try await models.embed(["warm up"], options: EmbedOptions(model: model), keepAlive: .forever)
                            } reranker: {
                                try await models.rerank("warm up", documents: ["warm up"], options: RerankOptions(model: model), keepAlive: .forever)
                            }
                        }
                        readiness.set(.ready)
                        let also = preload.isEmpty ? "" : " (and \(preload.map(\.description).joined(separator: ", ")))"
                        logger.info("ready: \(pool.size) worker(s), model \(pool.configuration.models.embedding)\(also)")
                        return
                    } catch {
                        let reason = (error as? WorkerError)?.summary ?? "\(error)"
                        readiness.set(.broken(reason))
                        logger.error("not ready: \(reason)")
                    }
                    try? await Task.sleep(for: .seconds(5))
                }
            }
            try? await gracefulShutdown()
            readiness.set(.draining)
            logger.info("draining: refusing new requests, finishing those in flight")
            group.cancelAll()
        }
    }
}
