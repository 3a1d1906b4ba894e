import Foundation
import Logging
import Tracing
import WorkerBeeWire

/// Several worker processes behind one API, with the machine's cores divided between them.
///
/// An embed call is cut into requests within the configuration's ``EmbedRequestLimit`` (or into
/// one slice per worker when it is smaller than that), which the workers take as they become
/// free; the results are put back together in input order. Vision requests go to the least busy
/// worker. Each worker is a ``WorkerProcess`` with its own log, restart and retry, so a crash in
/// one does not disturb the others. For more texts than fit in memory, see
/// ``embeddings(of:options:)``.
///
/// ggml synchronises its threads at every graph node, which costs a lot on the small matrices of
/// embedding models, so several single-threaded processes can beat one process with all threads;
/// see docs/PERFORMANCE.md for the figures behind the default.
public actor WorkerPool {
    /// The workers.
    public nonisolated let workers: [WorkerProcess]
    /// The configuration every worker was made from (with the pool's thread count).
    public nonisolated let configuration: WorkerConfiguration
    /// Texts below which an embed call is not split across workers.
    nonisolated let minimumTextsToSplit: Int
    private var inFlight: [Int]
    /// Workers lost during embed calls (each cost a piece that was split and sent again).
    private(set) var lossCount = 0

    /// The default number of processes for `cores` cores: one single-threaded process per core.
    public static func defaultProcessCount(cores: Int = ProcessInfo.processInfo.activeProcessorCount) -> Int {
        max(1, cores)
    }

    /// Creates a pool; nothing starts until the first request or ``start()``.
    /// - Parameters:
    ///   - configuration: the template for every worker; `engine.threads` is replaced by `threadsPerProcess`.
    ///   - processes: how many workers (default: ``defaultProcessCount(cores:)``).
    ///   - threadsPerProcess: CPU threads each (default: the configuration's threads, or the
    ///     cores, divided by the processes; at least 1).
    ///   - minimumTextsToSplit: calls with fewer texts go to one worker.
    ///   - logger: where supervision events go.
    public init(
        configuration: WorkerConfiguration = WorkerConfiguration(), processes: Int? = nil, threadsPerProcess: Int? = nil,
        minimumTextsToSplit: Int = 8, logger: Logger = Logger(label: "workerbee.worker-pool")
    ) {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let count = max(1, processes ?? Self.defaultProcessCount(cores: cores))
        let threads = max(1, threadsPerProcess ?? configuration.engine.threads.map { $0 / count } ?? cores / count)
        var template = configuration
        template.engine.threads = threads
        workers = (0..<count).map { index in
            var each = template
            if count > 1 {
                let base = (template.launch.logFileName as NSString).deletingPathExtension
                each.launch.logFileName = "\(base)-\(index + 1).log"
            }
            return WorkerProcess(configuration: each, logger: logger)
        }
        self.configuration = template
        inFlight = Array(repeating: 0, count: count)
        self.minimumTextsToSplit = max(2, minimumTextsToSplit)
    }

    /// The number of workers.
    public nonisolated var size: Int { workers.count }

    /// Starts every worker that is not running.
    public func start() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in workers { group.addTask { try await worker.start() } }
            try await group.waitForAll()
        }
    }

    /// Stops every worker (see ``WorkerProcess/stop()``).
    public func stop() async {
        await withTaskGroup(of: Void.self) { group in
            for worker in workers { group.addTask { await worker.stop() } }
        }
    }

    /// What the workers have been through, summed, with the running workers' pids.
    public var statistics: WorkerStatistics {
        get async {
            var total = WorkerStatistics(losses: lossCount)
            for worker in workers {
                let each = await worker.statistics
                total.spawns += each.spawns
                total.restarts += each.restarts
                total.largestFrameReceived = max(total.largestFrameReceived, each.largestFrameReceived)
                total.pids += each.pids
            }
            return total
        }
    }

    /// Embeds texts (or token ids) across the workers; one vector per input, in order.
    ///
    /// Calls of any size work, as ``WorkerProcess/embed(_:options:)`` describes: each worker
    /// request stays within the request limit and its own timeout. The pool keeps every worker
    /// busy with the next piece of the call. When a worker is lost (a crash, a kill, a timeout),
    /// the piece it held is split in halves and sent again, and the call's new pieces are cut
    /// smaller (halved on each loss, doubled again after successes), so a call makes progress
    /// even when workers die more often than a full piece takes. A text that crashes the worker
    /// every time is cornered this way in about log2(n) losses and handled as
    /// ``EmbedOptions/poisonTexts`` says. Token ids go to the least busy worker in one request.
    /// - Throws: ``WorkerError``: `.poisonInput` when some texts crash the worker every time and
    ///   the options say `.fail` (its ``WorkerError/partial`` holds every other text's vector
    ///   and the failed indexes); `.modelCrashed`, `.modelNotFound` and other worker-reported
    ///   errors for the whole call; or `CancellationError`.
    public func embed(_ input: EmbedInput, options: EmbedOptions = EmbedOptions()) async throws -> Embeddings {
        let texts: [String]
        switch input {
        case .tokens:
            return try await withWorker { try await $0.embed(input, options: options) }
        case .texts(let given):
            texts = given
        }
        let embeddings = try await embedAllowingPoison(
            texts, model: options.model, normalize: options.normalize, spreadOverWorkers: options.spreadOverWorkers, truncateStart: options.truncation == .start)
        guard options.poisonTexts == .fail, let error = Self.poisonError(embeddings, of: texts.count, noun: "texts", done: "embedded") else { return embeddings }
        throw error
    }

    /// The `.poisonInput` error for a call some of whose inputs crash the worker every time (nil
    /// when none did); its ``WorkerError/partial`` holds every other input's result.
    private static func poisonError(_ results: Embeddings, of count: Int, noun: String, done: String) -> WorkerError? {
        guard let first = results.failures.first else { return nil }
        let indexes = results.failedIndexes.prefix(10).map(String.init).joined(separator: ", ") + (results.failures.count > 10 ? ", ..." : "")
        var error = WorkerError(
            .poisonInput,
            "\(results.failures.count) of \(count) \(noun) crash the worker every time (indexes \(indexes)); the others were \(done). \(noun.dropLast().capitalized) \(first.index): \(first.error.message)",
            exitStatus: first.error.exitStatus, logTail: first.error.logTail)
        error.partial = results
        return error
    }

    /// Scores each document against `query` with a reranker across the workers; one row of
    /// scores per document, in input order (see ``Rerankings``). Pairs are pieced out, retried
    /// and a document that crashes the worker every time is cornered as
    /// ``embed(_:options:)`` describes for texts.
    ///
    /// ```swift
    /// let top = try await pool.rerank("what is a bee?", documents: passages).ranked.prefix(5)
    /// ```
    /// - Throws: ``WorkerError`` (`.cannotRerank` when the model is not a reranker,
    ///   `.poisonInput` as for embed), or `CancellationError`.
    public func rerank(_ query: String, documents: [String], options: RerankOptions = RerankOptions()) async throws -> Rerankings {
        try await rerank(queries: Array(repeating: query, count: documents.count), documents: documents, options: options)
    }

    /// Scores pair `i` = (`queries[i]`, `documents[i]`), as ``rerank(_:documents:options:)``.
    package func rerank(queries: [String], documents: [String], options: RerankOptions = RerankOptions()) async throws -> Rerankings {
        precondition(queries.count == documents.count, "one query per document")
        let scored = try await embedAllowingPoison(
            documents, model: options.model, normalize: false, spreadOverWorkers: options.spreadOverWorkers, truncateStart: options.truncation == .start,
            queries: queries)
        guard options.poisonDocuments == .fail, let error = Self.poisonError(scored, of: documents.count, noun: "documents", done: "scored") else {
            return Rerankings(scored)
        }
        throw error
    }

    /// Embeds texts (or, with `queries`, scores each (query, text) pair with a reranker) and
    /// reports the ones that crash the worker instead of throwing for them.
    func embedAllowingPoison(
        _ texts: [String], model: ModelReference?, normalize: Bool, spreadOverWorkers: Bool = true, truncateStart: Bool = false, queries: [String]? = nil
    ) async throws -> Embeddings {
        let model = model ?? configuration.models.embedding
        let dimension = queries == nil ? configuration.models.embeddingDimension ?? 0 : 0
        if texts.isEmpty { return Embeddings(result: .empty(dimension: dimension), failures: []) }
        // Small calls are spread over the workers; larger ones go in request-sized pieces.
        let spread = spreadOverWorkers && texts.count >= minimumTextsToSplit ? (texts.count + workers.count - 1) / workers.count : texts.count
        enum Outcome: Sendable {
            case finished(EmbedJob.Piece, EmbedResult)
            case lost(EmbedJob.Piece, WorkerError, WorkerProcess)
        }
        let job = try await withThrowingTaskGroup(of: Outcome.self, returning: EmbedJob.self) { group in
            // A rerank pair carries its query too: pieces are sized by both.
            var job = EmbedJob(texts: texts, limit: configuration.requestLimit, firstSlice: spread, extraBytes: queries?.map(\.utf8.count).max() ?? 0)
            var running = 0
            // The pieces whose worker was lost, and why: a piece with their texts is a retry.
            var lost: [(range: Range<Int>, reason: String)] = []
            func launch() -> Bool {
                guard let piece = job.next() else { return false }
                let part = Array(texts[piece.range])
                let partQueries = queries.map { Array($0[piece.range]) } ?? []
                let retry = lost.last { $0.range.overlaps(piece.range) }?.reason
                running += 1
                group.addTask {
                    try await Self.tracingRetry(retry, texts: piece.range.count) {
                        try await self.withWorker { worker in
                            do {
                                let result = try await worker.embedRequest(
                                    part, model: model, normalize: normalize, truncateStart: truncateStart, retryOnLoss: false,
                                    freshWorker: piece.losses > 0 || piece.killedFromOutside > 0, queries: partQueries)
                                return .finished(piece, result)
                            } catch let error as WorkerError where [.crashed, .protocolViolation, .timedOut].contains(error.code) {
                                return .lost(piece, error, worker)
                            }
                        }
                    }
                }
                return true
            }
            while running < workers.count, launch() {}
            while running > 0, let outcome = try await group.next() {
                running -= 1
                switch outcome {
                case .finished(let piece, let result):
                    job.finished(piece, result)
                case .lost(let piece, let error, let worker):
                    if job.lost(piece, error) {
                        lost.append((piece.range, error.summary))
                        await worker.announceRetry(label: "\(queries == nil ? "embed" : "rerank") of \(piece.range.count) texts")
                    }
                    lossCount += 1
                }
                while running < workers.count, launch() {}
            }
            return job
        }
        return Embeddings(result: job.result(dimension: dimension), failures: job.failures.sorted { $0.index < $1.index })
    }

    /// Embeds a sequence of texts of any length as it arrives, and gives the results in input
    /// order as they are ready.
    ///
    /// Backpressure is built in: input is read only while the consumer asks for results, and
    /// never more than about two requests per worker ahead of it, so memory stays flat however
    /// long the input. Stopping the iteration (or cancelling its task) cancels what is in flight.
    /// A text that crashes the worker every time ends the stream with `.poisonInput` when the
    /// consumer reaches it (``EmbedOptions/PoisonTexts/fail``), or comes as an item with an
    /// error (``EmbedOptions/PoisonTexts/report``).
    ///
    /// ```swift
    /// for try await item in pool.embeddings(of: lines) {
    ///     print(item.index, item.vector.count)
    /// }
    /// ```
    public nonisolated func embeddings<Input: AsyncSequence>(of input: Input, options: EmbedOptions = EmbedOptions()) -> EmbeddingStream<Input>
    where Input.Element == String {
        EmbeddingStream(pool: self, input: input, options: options, window: max(2, 2 * workers.count))
    }

    /// Tokenizes texts on the least busy worker (see ``WorkerProcess/tokenize(_:model:)``).
    public func tokenize(_ texts: [String], model: ModelReference? = nil) async throws -> [[Int32]] {
        try await withWorker { try await $0.tokenize(texts, model: model) }
    }

    /// Reads the text in an image on the least busy worker (see
    /// ``WorkerProcess/readText(in:engine:)``).
    public func readText(in image: Data, engine: OCREngine = .vision()) async throws -> TextReading {
        try await withWorker { try await $0.readText(in: image, engine: engine) }
    }

    /// Runs `body`, a piece of an embed call; in a "retry" span (its worker exchange a child) when
    /// the piece sends texts again after their worker was lost for `retry`.
    private static func tracingRetry<T>(_ retry: String?, texts: Int, _ body: () async throws -> T) async throws -> T {
        guard let retry else { return try await body() }
        return try await withSpan("retry") { span in
            if span.isRecording {
                span.updateAttributes { attributes in
                    attributes["workerbee.retry.texts"] = texts
                    attributes["workerbee.retry.reason"] = retry
                }
            }
            return try await body()
        }
    }

    /// Runs `body` on the worker with the fewest requests in flight.
    private func withWorker<T: Sendable>(_ body: @Sendable (WorkerProcess) async throws -> T) async throws -> T {
        let index = inFlight.indices.min { inFlight[$0] < inFlight[$1] } ?? 0
        inFlight[index] += 1
        defer { inFlight[index] -= 1 }
        return try await body(workers[index])
    }
}
