internal import CWorkerBeeSystem
import Foundation
import Logging
import WorkerBeeModels
import WorkerBeeWire

/// Runs llama.cpp in a supervised child process and talks to it.
///
/// The worker starts lazily with the first request. Requests from concurrent callers are served
/// one at a time, in arrival order, without blocking threads. Embed calls of any size are cut
/// into bounded requests (``WorkerConfiguration/requestLimit``), each with its own timeout. If the
/// worker is lost while it holds a request (a crash, `abort()` in ggml, a kill, a broken frame,
/// or a timeout, which kills it as wedged), it is restarted and the request is sent once more; a
/// second loss fails with an error that leads with ggml's own reason, then the exit status, then
/// the end of the worker log. A model that crashes llama.cpp while loading is remembered and
/// refused at once next time (`.modelCrashed`). An answer is only ever delivered to the request
/// whose id it carries. Cancelling the calling task cancels the request in the worker (through
/// llama.cpp's abort callback) and the caller gets `CancellationError`.
///
/// ```swift
/// let worker = WorkerProcess()
/// let vectors = try await worker.embed(["hello", "world"]).vectors
/// await worker.stop()
/// ```
public actor WorkerProcess {
    /// How the worker is run.
    public nonisolated let configuration: WorkerConfiguration
    let logger: Logger
    let requestLock = AsyncFIFOLock()
    var connection: ChildConnection?
    var nextRequestID: UInt64 = 0
    var stopCount = 0
    private var subscribers: [UInt64: AsyncStream<WorkerEvent>.Continuation] = [:]
    private var nextSubscriber: UInt64 = 0
    var largestFrame = 0
    var modelsKnownGood: Set<String> = []
    /// Requests sent to the current worker.
    var requestsOnConnection = 0
    /// The model whose load the last lost worker did not finish.
    var crashedModel: String?
    nonisolated var verdicts: ModelVerdicts { ModelVerdicts(directory: configuration.launch.logDirectory) }
    /// The last worker's hello: protocol version, pid, llama.cpp build information.
    public internal(set) var hello: WorkerHello?
    /// How many times a lost worker was restarted to retry a request.
    var restartCount = 0
    /// How many workers have been spawned.
    var spawnCount = 0

    /// Creates a supervisor; nothing starts until the first request or ``start()``.
    /// - Parameters:
    ///   - configuration: models, timeouts, executable.
    ///   - logger: where supervision events go.
    public init(configuration: WorkerConfiguration = WorkerConfiguration(), logger: Logger = Logger(label: "workerbee.worker-process")) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Supervision events from now on, as they happen: spawns, queued callers, requests sent
    /// and answered, losses, retries, stops. Each call returns a new stream; it ends when the
    /// consumer stops iterating.
    public func events() -> AsyncStream<WorkerEvent> {
        let (stream, continuation) = AsyncStream<WorkerEvent>.makeStream()
        let id = nextSubscriber
        nextSubscriber += 1
        subscribers[id] = continuation
        continuation.onTermination = { _ in Task { await self.unsubscribe(id) } }
        return stream
    }

    private func unsubscribe(_ id: UInt64) {
        subscribers[id] = nil
    }

    /// Tells subscribers that texts this worker lost are sent again (by a pool job, which does
    /// its own retrying).
    func announceRetry(label: String) {
        emit(.retrying(label: label))
    }

    func emit(_ event: WorkerEvent) {
        for continuation in subscribers.values { continuation.yield(event) }
    }

    /// Whether a worker is running.
    public var isAlive: Bool {
        guard let connection else { return false }
        return !connection.isClosed && connection.process.exitStatus == nil
    }

    /// The running worker's pid, if any.
    public var pid: Int32? { isAlive ? connection?.process.pid : nil }

    /// Starts the worker if it is not running and waits for its hello.
    /// - Throws: ``WorkerError`` (`.spawnFailed`, `.crashed`, `.timedOut`, `.protocolViolation`).
    public func start() async throws {
        // In line with requests: a start and a first request at once must not spawn two workers.
        let ticket = requestLock.enter()
        try await requestLock.wait(for: ticket)
        defer { requestLock.release() }
        _ = try await runningConnection()
    }

    /// Stops the worker as a list of steps, each raced against its exit: a shutdown request and
    /// up to 5 s, then SIGTERM and up to 2 s, then SIGKILL. The worker is always reaped. A
    /// request in flight fails with `.stopped`.
    public func stop() async {
        stopCount += 1
        guard let connection else { return }
        forget(connection)
        let process = connection.process
        if !connection.isClosed {
            try? await connection.send(WorkerRequest.shutdown.frame(requestID: 0))
        }
        let status = await process.stop(steps: [(nil, .seconds(5)), (SIGTERM, .seconds(2))])
        connection.close()
        logger.info("worker \(process.pid) stopped (\(status))")
        emit(.stopped(pid: process.pid))
    }

    /// Stops the worker and starts a new one.
    public func restart() async throws {
        await stop()
        try await start()
    }

    /// Embeds texts (or token ids) with the configured or named model.
    ///
    /// A call of any size works: texts go to the worker in requests bounded by
    /// ``WorkerConfiguration/requestLimit`` (texts and bytes), one after another, so each request
    /// takes a bounded time and its answer stays far below the frame cap. The embed timeout
    /// applies to each request: a hung worker is caught within `timeouts.embed` while a call of a
    /// million texts runs to the end. Concurrent callers' requests interleave in arrival order.
    /// Token ids go in one request.
    ///
    /// ```swift
    /// let vectors = try await worker.embed(["hello", "world"]).vectors
    /// let queries = try await worker.embed(.texts(questions), options: EmbedOptions(model: "e5-small"))
    /// ```
    /// - Parameters:
    ///   - input: the texts or token ids; an empty input returns an empty result without
    ///     starting anything.
    ///   - options: model, normalisation (a single process has no poison isolation: a text that
    ///     crashes the worker twice fails the call with `.crashed`; a ``WorkerPool`` corners it).
    /// - Throws: ``WorkerError`` (`.invalidInput` for an empty token sequence or an id outside
    ///   the vocabulary), or `CancellationError` when the task is cancelled.
    public func embed(_ input: EmbedInput, options: EmbedOptions = EmbedOptions()) async throws -> Embeddings {
        let model = options.model ?? configuration.models.embedding
        switch input {
        case .texts(let texts):
            var result = EmbedResult(dimension: configuration.models.embeddingDimension ?? 0, values: [], tokenCounts: [], truncated: [])
            for range in configuration.requestLimit.requests(for: texts) {
                let part = try await embedRequest(Array(texts[range]), model: model, normalize: options.normalize, truncateStart: options.truncation == .start)
                if result.count == 0 { result.reserveCapacity(texts.count, dimension: part.dimension) }
                result.append(part)
            }
            return Embeddings(result: result)
        case .tokens(let tokens):
            if tokens.isEmpty { return Embeddings(result: .empty(dimension: configuration.models.embeddingDimension ?? 0)) }
            try refuseKnownBrokenModel(model)
            let response = try await perform(
                .embedTokens(model: model.description, normalize: options.normalize, tokens: tokens), timeout: configuration.timeouts.embed, label: "embed tokens")
            guard case .embeddings(let result) = response, result.count == tokens.count, result.values.count == result.count * result.dimension else {
                throw WorkerError(.protocolViolation, "the worker answered an embed request of \(tokens.count) token lists with \(Self.describe(response))")
            }
            if let expected = configuration.models.embeddingDimension, expected != result.dimension {
                throw WorkerError(.dimensionMismatch, "model \(model) makes \(result.dimension)-dimensional vectors, but the configuration expects \(expected)")
            }
            return Embeddings(result: result)
        }
    }

    /// Sends one embed request (the caller keeps it within the request limit).
    /// - Parameter retryOnLoss: send it once more on a fresh worker if the worker is lost (a
    ///   pool that splits lost requests itself passes false).
    /// - Parameter freshWorker: send it as the first request of a newly started worker (the
    ///   pool's second try of a text suspected of crashing workers, so that a worker that was
    ///   failing anyway cannot get a good text declared poison).
    /// - Parameter queries: empty to embed; else one query per text, to score each (query,
    ///   text) pair with a reranker.
    func embedRequest(
        _ texts: [String], model: ModelReference, normalize: Bool, truncateStart: Bool = false, retryOnLoss: Bool = true, freshWorker: Bool = false,
        queries: [String] = []
    ) async throws -> EmbedResult {
        let request = EmbedRequest(model: model.description, normalize: normalize, texts: texts, truncateStart: truncateStart, queries: queries)
        try refuseKnownBrokenModel(model)
        let label = queries.isEmpty ? "embed" : "rerank"
        let response = try await perform(
            .embed(request), timeout: configuration.timeouts.embed, label: label, retryOnLoss: retryOnLoss, freshWorker: freshWorker)
        guard case .embeddings(let result) = response, result.count == texts.count,
            result.values.count == result.count * result.dimension
        else {
            throw WorkerError(.protocolViolation, "the worker answered a \(label) request of \(texts.count) texts with \(Self.describe(response))")
        }
        if queries.isEmpty, let expected = configuration.models.embeddingDimension, expected != result.dimension {
            throw WorkerError(.dimensionMismatch, "model \(model) makes \(result.dimension)-dimensional vectors, but the configuration expects \(expected)")
        }
        return result
    }

    /// Scores each document against `query` with a reranker; one row of scores per document, in
    /// input order (see ``Rerankings``). Calls of any size go in request-sized pieces, as
    /// ``embed(_:options:)`` describes.
    ///
    /// ```swift
    /// let best = try await worker.rerank("what is a bee?", documents: passages, options: RerankOptions(model: "ms-marco-minilm")).ranked.prefix(3)
    /// ```
    /// - Throws: ``WorkerError`` (`.cannotRerank` when the model is not a reranker), or
    ///   `CancellationError`.
    public func rerank(_ query: String, documents: [String], options: RerankOptions = RerankOptions()) async throws -> Rerankings {
        let model = options.model ?? configuration.models.embedding
        var result = EmbedResult(dimension: 0, values: [], tokenCounts: [], truncated: [])
        for range in configuration.requestLimit.requests(for: documents, extraBytes: query.utf8.count) {
            let part = try await embedRequest(
                Array(documents[range]), model: model, normalize: false, truncateStart: options.truncation == .start,
                queries: Array(repeating: query, count: range.count))
            if result.count == 0 { result.reserveCapacity(documents.count, dimension: part.dimension) }
            result.append(part)
        }
        return Rerankings(result: result)
    }

    /// The model's token ids for each text, special tokens included, before any truncation.
    /// - Parameter model: the model; nil means the configured embedding model.
    /// - Throws: ``WorkerError``, or `CancellationError`.
    public func tokenize(_ texts: [String], model: ModelReference? = nil) async throws -> [[Int32]] {
        if texts.isEmpty { return [] }
        let model = model ?? configuration.models.embedding
        try refuseKnownBrokenModel(model)
        let response = try await perform(.tokenize(model: model.description, texts: texts), timeout: configuration.timeouts.embed, label: "tokenize")
        guard case .tokens(let tokens) = response, tokens.count == texts.count else {
            throw WorkerError(.protocolViolation, "the worker answered a tokenize request of \(texts.count) texts with \(Self.describe(response))")
        }
        return tokens
    }

    /// Reads the text in an image.
    ///
    /// ```swift
    /// let page = try await worker.readText(in: png, engine: .tesseract(language: "eng+deu"))
    /// let scan = try await worker.readText(in: jpeg, engine: .vision(.init(maxTokens: 2048)))
    /// ```
    /// - Parameters:
    ///   - image: PNG, JPEG or binary PNM bytes (Tesseract also takes TIFF and whatever
    ///     Leptonica decodes).
    ///   - engine: Tesseract, or a vision model (the default: the configured one).
    /// - Throws: ``WorkerError`` (`.visionDisabled` when no vision model is configured or named;
    ///   `.engineUnavailable` when Tesseract or the language is missing, saying what to install;
    ///   `.invalidInput` for an image that cannot be decoded), or `CancellationError`.
    public func readText(in image: Data, engine: OCREngine = .vision()) async throws -> TextReading {
        switch engine {
        case .tesseract(let language):
            let response = try await perform(.recognize(language: language, image: Array(image)), timeout: configuration.timeouts.ocr, label: "Tesseract OCR")
            guard case .recognized(let result) = response else {
                throw WorkerError(.protocolViolation, "the worker answered a Tesseract request with \(Self.describe(response))")
            }
            return TextReading(text: result.text, confidence: result.confidence)
        case .vision(let options):
            let request = VisionRequest(
                model: (options.model ?? configuration.models.vision)?.description ?? "",
                projector: (options.projector?.path ?? configuration.models.visionProjector?.path) ?? "",
                prompt: options.prompt ?? "", image: Array(image), maxTokens: UInt32(clamping: max(0, options.maxTokens ?? 0)))
            let response = try await perform(.vision(request), timeout: configuration.timeouts.ocr, label: "vision OCR")
            guard case .text(let result) = response else {
                throw WorkerError(.protocolViolation, "the worker answered a vision request with \(Self.describe(response))")
            }
            return TextReading(text: result.text, promptTokens: result.promptTokens, generatedTokens: result.generatedTokens)
        }
    }

    /// Makes the worker load `model` as its model of `kind` (unloading the previous one) and
    /// waits for the worker to acknowledge.
    /// - Throws: ``WorkerError`` if the model cannot be loaded (the worker stays up).
    public func loadModel(_ model: ModelReference, kind: ModelKind = .embedding) async throws {
        try await sendLoadModel(model.description, kind: kind)
    }

    /// Makes the worker unload its model of `kind` and waits for the acknowledgement.
    /// - Throws: ``WorkerError`` if the worker cannot be reached.
    public func unloadModel(kind: ModelKind = .embedding) async throws {
        try await sendLoadModel("", kind: kind)
    }

    /// Sends a load-model request; the wire's empty name means "unload".
    private func sendLoadModel(_ model: String, kind: ModelKind) async throws {
        let response = try await perform(.loadModel(kind: kind, model: model), timeout: configuration.timeouts.load, label: model.isEmpty ? "unload model" : "load model")
        guard case .loaded = response else {
            throw WorkerError(.protocolViolation, "the worker answered a load-model request with \(Self.describe(response))")
        }
    }

    /// Throws `.modelCrashed` at once, without a worker, for a model file known to crash llama.cpp.
    func refuseKnownBrokenModel(_ model: ModelReference) throws(WorkerError) {
        let url = ModelDirectory(url: configuration.models.directory).resolve(model)
        guard !modelsKnownGood.contains(url.path) else { return }
        if let verdict = verdicts.verdict(for: url) {
            throw WorkerError(.modelCrashed, "model \(url.lastPathComponent) crashes llama.cpp (\(verdict.reason)); it was not loaded again. Replace the file to try again.")
        }
        modelsKnownGood.insert(url.path)
    }

    /// The largest frame the current or last worker sent, in bytes.
    var largestFrameReceived: Int { max(largestFrame, connection?.largestFrameReceived ?? 0) }

    /// What this worker has been through: spawns, restarts, the largest frame, its pid.
    public var statistics: WorkerStatistics {
        WorkerStatistics(spawns: spawnCount, restarts: restartCount, largestFrameReceived: largestFrameReceived, pids: pid.map { [$0] } ?? [])
    }

}
