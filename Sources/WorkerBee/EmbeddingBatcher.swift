import Foundation
import Tracing
import WorkerBeeWire

/// Coalesces the texts of concurrent callers (a server's requests) into worker batches.
///
/// Callers queue their texts in the order their calls reach the batcher. As long as fewer batches are in flight than
/// the pool has workers, the next batch goes out at once with whatever is queued (up to
/// `batchTexts` texts and `batchTokens` estimated tokens), so an idle server answers a lone
/// request without waiting for company, and a busy one serves 64 clients with one sentence each
/// like a few batched calls. The queue is bounded in estimated tokens: beyond it a request is
/// refused (``QueueFull``; a server answers 429). A caller whose task is cancelled has its texts
/// that were not yet sent dropped from the queue. Each text's vector goes back to the caller it
/// came from; a text that crashes the worker every time fails only its own caller.
///
/// Traces: each call has a "queue wait" span, a child of the caller's current span, from the
/// call until its last text goes out in a batch; each batch has a "batch" span, a child of the
/// oldest caller whose texts it holds and linked to the others (and each caller's queue wait is
/// linked to every batch that took its texts); the batch's worker exchanges are its children.
/// Spans go to the tracer active for the caller (`withTracer`, else `InstrumentationSystem`).
public actor EmbeddingBatcher {
    /// What a caller gets back.
    public struct Answer: Sendable {
        /// One vector per text, in order.
        public var vectors: [[Float]]
        /// Tokens each text held (after truncation).
        public var tokenCounts: [Int]
        /// Whether each text was cut to the model's context.
        public var truncated: [Bool]

        /// An answer from its parts.
        public init(vectors: [[Float]], tokenCounts: [Int], truncated: [Bool]) {
            self.vectors = vectors
            self.tokenCounts = tokenCounts
            self.truncated = truncated
        }
    }

    /// How big batches and the queue may grow.
    public struct Limits: Sendable {
        /// Most texts in one batch.
        public var batchTexts: Int
        /// Most estimated tokens in one batch (a single larger text still goes alone).
        public var batchTokens: Int
        /// Most estimated tokens queued; beyond it a call is refused with ``QueueFull``.
        public var maxQueuedTokens: Int

        /// Limits with the defaults `workerbee serve` uses.
        public init(batchTexts: Int = 16, batchTokens: Int = 8192, maxQueuedTokens: Int = 262_144) {
            self.batchTexts = max(1, batchTexts)
            self.batchTokens = max(1, batchTokens)
            self.maxQueuedTokens = max(1, maxQueuedTokens)
        }
    }

    /// Where the batcher reports its queue and batches (a server feeds its metrics from these).
    public struct Observer: Sendable {
        /// Texts queued and not yet sent, after every change.
        public var queueDepth: @Sendable (Int) -> Void = { _ in }
        /// A batch went out with this many texts and estimated tokens.
        public var batch: @Sendable (_ texts: Int, _ tokens: Int) -> Void = { _, _ in }
        /// How long a caller's first text waited in the queue.
        public var queueWait: @Sendable (Duration) -> Void = { _ in }
        /// Tokens embedded for callers.
        public var tokensEmbedded: @Sendable (Int) -> Void = { _ in }

        /// An observer that ignores everything; set the parts you need.
        public init() {}
    }

    /// The queue is full: come back later.
    public struct QueueFull: Error {}

    /// Embeds one batch (or, with queries, scores each (query, text) pair with a reranker),
    /// reporting the texts that crash the worker every time (a pool in production).
    typealias Backend = @Sendable (_ texts: [String], _ queries: [String]?, _ model: ModelReference?, _ normalize: Bool, _ truncation: EmbedOptions.Truncation) async throws -> Embeddings

    private struct Job {
        let model: ModelReference?
        /// The query every text is paired with (a rerank call), or nil (an embed call).
        let query: String?
        let normalize: Bool
        let truncation: EmbedOptions.Truncation
        let texts: [String]
        var answer: Answer
        var remaining: Int
        var unsent: Range<Int>
        let cost: Int
        let enqueued: ContinuousClock.Instant
        var continuation: CheckedContinuation<Answer, any Error>?
        /// The caller's trace context and tracer, and its queue wait until its last text is sent.
        let trace: ServiceContext
        let tracer: any Tracer
        var queueWait: (any Span)?
    }

    private struct Slice {
        let job: UInt64
        let range: Range<Int>
    }

    private let workers: Int
    private let limits: Limits
    private let observer: Observer
    private let backend: Backend
    private var jobs: [UInt64: Job] = [:]
    /// Jobs with texts not yet sent, in arrival order.
    private var waiting: [UInt64] = []
    private var nextID: UInt64 = 0
    private var queuedTokens = 0
    private var queuedTexts = 0
    private var inFlight = 0

    /// A batcher over `pool`: as many batches in flight as the pool has workers, each on one
    /// worker.
    public init(pool: WorkerPool, limits: Limits = Limits(), observer: Observer = Observer()) {
        self.init(workers: pool.size, limits: limits, observer: observer, backend: Self.backend(
            embed: { try await pool.embed(.texts($0), options: $1) },
            rerank: { try await pool.rerank(queries: $0, documents: $1, options: $2) }))
    }

    /// A batcher for one model of a ``ModelPools``: as many batches in flight as the model has
    /// workers; each batch loads the model if it was unloaded and restarts its keep-alive.
    public init(models: ModelPools, model: ModelReference, limits: Limits = Limits(), observer: Observer = Observer()) {
        self.init(workers: models.processesPerModel, limits: limits, observer: observer, backend: Self.backend(
            model: model,
            embed: { try await models.embed(.texts($0), options: $1) },
            rerank: { try await models.rerank(queries: $0, documents: $1, options: $2) }))
    }

    /// Sends each batch as one call that stays on one worker (each batch is done sooner; the
    /// batcher keeps every worker busy) and reports poison inputs: rerank batches to `rerank`,
    /// embed batches to `embed`, with `model` when given, else the batch's own.
    private static func backend(
        model fixed: ModelReference? = nil,
        embed: @escaping @Sendable ([String], EmbedOptions) async throws -> Embeddings,
        rerank: @escaping @Sendable ([String], [String], RerankOptions) async throws -> Rerankings
    ) -> Backend {
        { texts, queries, model, normalize, truncation in
            let model = fixed ?? model
            if let queries {
                let options = RerankOptions(model: model, poisonDocuments: .report, spreadOverWorkers: false, truncation: truncation)
                return try await rerank(queries, texts, options).embeddings
            }
            return try await embed(texts, EmbedOptions(model: model, normalize: normalize, poisonTexts: .report, spreadOverWorkers: false, truncation: truncation))
        }
    }

    /// A batcher that sends its batches to `backend`, `workers` at a time.
    init(workers: Int, limits: Limits, observer: Observer = Observer(), backend: @escaping Backend) {
        self.workers = max(1, workers)
        self.limits = limits
        self.observer = observer
        self.backend = backend
    }

    /// The tokens a text is estimated to hold, for queue and batch budgets.
    static func estimatedTokens(_ text: String) -> Int { text.utf8.count / 4 + 2 }

    /// The estimated tokens of a text, with its query when it is a rerank pair.
    static func cost(of text: String, query: String?) -> Int { estimatedTokens(text) + (query.map(estimatedTokens) ?? 0) }

    /// Callers whose texts are queued or in flight (for tests).
    var pendingCallers: Int { jobs.count }

    /// Embeds `texts` with `model` (nil: the pool's configured model), batched with other
    /// callers' texts. The texts take their place in the queue before this call first suspends,
    /// so calls are served in the order they reach the batcher; a caller already cancelled
    /// queues nothing.
    /// - Throws: ``QueueFull``, ``WorkerError`` (a `.poisonInput` names the caller's own text
    ///   index), or `CancellationError`.
    public func embed(_ texts: [String], model: ModelReference?, normalize: Bool, truncation: EmbedOptions.Truncation = .end) async throws -> Answer {
        try await submit(texts, query: nil, model: model, normalize: normalize, truncation: truncation)
    }

    /// Scores each document against `query` with the reranker `model` (nil: the pool's
    /// configured model), batched with other callers' pairs (other queries' too): the answer's
    /// vectors hold each document's scores (see ``Rerankings``). Queued, refused and cancelled
    /// as ``embed(_:model:normalize:truncation:)``.
    public func rerank(_ documents: [String], query: String, model: ModelReference?, truncation: EmbedOptions.Truncation = .end) async throws -> Answer {
        try await submit(documents, query: query, model: model, normalize: false, truncation: truncation)
    }

    private func submit(_ texts: [String], query: String?, model: ModelReference?, normalize: Bool, truncation: EmbedOptions.Truncation) async throws -> Answer {
        try Task.checkCancellation()
        nextID += 1
        let id = nextID
        let trace = ServiceContext.current ?? .topLevel
        let tracer = InstrumentationSystem.tracer
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                enqueue(
                    id, texts: texts, query: query, model: model, normalize: normalize, truncation: truncation, continuation: continuation,
                    trace: trace, tracer: tracer)
            }
        } onCancel: {
            // Runs once this call has suspended (it needs the actor), so the job is queued by
            // then, or already answered and gone.
            Task { await self.cancel(id) }
        }
    }

    private func enqueue(
        _ id: UInt64, texts: [String], query: String?, model: ModelReference?, normalize: Bool, truncation: EmbedOptions.Truncation,
        continuation: CheckedContinuation<Answer, any Error>, trace: ServiceContext, tracer: any Tracer
    ) {
        let cost = texts.reduce(0) { $0 + Self.estimatedTokens($1) } + (query.map(Self.estimatedTokens) ?? 0) * texts.count
        if queuedTokens > 0 && queuedTokens + cost > limits.maxQueuedTokens {
            continuation.resume(throwing: QueueFull())
            return
        }
        let empty = Answer(vectors: Array(repeating: [], count: texts.count), tokenCounts: Array(repeating: 0, count: texts.count), truncated: Array(repeating: false, count: texts.count))
        let queueWait = tracer.startSpan("queue wait", context: trace)
        if queueWait.isRecording {
            queueWait.updateAttributes { attributes in
                attributes["workerbee.texts"] = texts.count
                attributes["workerbee.estimated_tokens"] = cost
            }
        }
        jobs[id] = Job(
            model: model, query: query, normalize: normalize, truncation: truncation, texts: texts, answer: empty, remaining: texts.count, unsent: 0..<texts.count, cost: cost,
            enqueued: .now, continuation: continuation, trace: trace, tracer: tracer, queueWait: queueWait)
        waiting.append(id)
        queuedTokens += cost
        queuedTexts += texts.count
        observer.queueDepth(queuedTexts)
        dispatch()
    }

    private func cancel(_ id: UInt64) {
        guard var job = jobs[id] else { return }  // answered already
        job.queueWait?.recordError(CancellationError())
        forgetUnsent(&job)
        let continuation = job.continuation
        jobs[id] = nil
        continuation?.resume(throwing: CancellationError())
    }

    /// Drops a job's texts that were not sent yet from the queue's accounting.
    private func forgetUnsent(_ job: inout Job) {
        let unsentTexts = Array(job.texts[job.unsent])
        queuedTokens -= unsentTexts.reduce(0) { $0 + Self.cost(of: $1, query: job.query) }
        queuedTexts -= unsentTexts.count
        job.unsent = job.unsent.upperBound..<job.unsent.upperBound
        observer.queueDepth(queuedTexts)
        job.queueWait?.end()
        job.queueWait = nil
    }

    /// Sends batches while workers are free and texts are waiting.
    private func dispatch() {
        while inFlight < workers, let (model, normalize, truncation, slices, texts, queries, tokens) = nextBatch() {
            inFlight += 1
            observer.batch(texts.count, tokens)
            let span = startBatchSpan(slices, texts: texts.count, tokens: tokens, rerank: queries != nil)
            let backend = self.backend
            Task {
                let outcome: Result<Embeddings, any Error>
                do {
                    outcome = .success(try await span.run { try await backend(texts, queries, model, normalize, truncation) })
                } catch {
                    outcome = .failure(error)
                }
                self.finish(slices, outcome, span: span)
            }
        }
    }

    /// Starts a batch's span (``BatchSpan``), links each caller's queue wait to it, and ends the
    /// queue waits of callers with nothing left to send.
    private func startBatchSpan(_ slices: [Slice], texts: Int, tokens: Int, rerank: Bool) -> BatchSpan {
        let head = slices.first.flatMap { jobs[$0.job] }
        let span = BatchSpan(
            tracer: head?.tracer ?? InstrumentationSystem.tracer, parent: head?.trace ?? .topLevel,
            others: { slices.dropFirst().compactMap { self.jobs[$0.job]?.trace } }, texts: texts, tokens: tokens, rerank: rerank)
        for slice in slices {
            guard var job = jobs[slice.job], let queueWait = job.queueWait else { continue }
            span.link(queueWait: queueWait)
            if job.unsent.isEmpty {
                queueWait.end()
                job.queueWait = nil
                jobs[slice.job] = job
            }
        }
        return span
    }

    /// The texts of the next batch: from the oldest waiting job's model and settings, in arrival
    /// order; for rerank calls, with each text's query (pairs of several queries share a batch).
    private func nextBatch() -> (
        model: ModelReference?, normalize: Bool, truncation: EmbedOptions.Truncation, slices: [Slice], texts: [String], queries: [String]?, tokens: Int
    )? {
        waiting.removeAll { jobs[$0] == nil || jobs[$0]!.unsent.isEmpty }
        guard let first = waiting.first, let head = jobs[first] else { return nil }
        // Share what is queued among the free workers, so that one worker does not take it all
        // while another idles: the batch is at most queued / free workers (and the cap).
        let freeWorkers = max(1, workers - inFlight)
        let cap = max(1, min(limits.batchTexts, (queuedTexts + freeWorkers - 1) / freeWorkers))
        var slices: [Slice] = []
        var texts: [String] = []
        var queries: [String] = []
        var tokens = 0
        for id in waiting {
            guard var job = jobs[id], job.model == head.model, job.normalize == head.normalize, job.truncation == head.truncation,
                (job.query == nil) == (head.query == nil)
            else { continue }
            var end = job.unsent.lowerBound
            while end < job.unsent.upperBound {
                let cost = Self.cost(of: job.texts[end], query: job.query)
                if !texts.isEmpty && (texts.count >= cap || tokens + cost > limits.batchTokens) { break }
                texts.append(job.texts[end])
                if let query = job.query { queries.append(query) }
                tokens += cost
                end += 1
            }
            if end > job.unsent.lowerBound {
                slices.append(Slice(job: id, range: job.unsent.lowerBound..<end))
                if job.unsent.lowerBound == 0 { observer.queueWait(ContinuousClock.now - job.enqueued) }
                job.unsent = end..<job.unsent.upperBound
                jobs[id] = job
            }
            if texts.count >= cap || tokens >= limits.batchTokens { break }
        }
        queuedTokens -= tokens
        queuedTexts -= texts.count
        observer.queueDepth(queuedTexts)
        return texts.isEmpty ? nil : (head.model, head.normalize, head.truncation, slices, texts, head.query == nil ? nil : queries, tokens)
    }

    private func finish(_ slices: [Slice], _ outcome: Result<Embeddings, any Error>, span: BatchSpan) {
        inFlight -= 1
        span.end(outcome)
        var offset = 0
        for slice in slices {
            defer { offset += slice.range.count }
            guard var job = jobs[slice.job] else { continue }  // its client went away
            switch outcome {
            case .failure(let error):
                fail(slice.job, &job, error)
                continue
            case .success(let partial):
                if let failure = partial.failures.first(where: { $0.index >= offset && $0.index < offset + slice.range.count }) {
                    let index = slice.range.lowerBound + failure.index - offset
                    fail(slice.job, &job, WorkerError(.poisonInput, "input \(index) crashes the worker every time: \(failure.error.summary)"))
                    continue
                }
                for (row, index) in slice.range.enumerated() {
                    job.answer.vectors[index] = partial.result.vector(at: offset + row)
                    job.answer.tokenCounts[index] = partial.result.tokenCounts[offset + row]
                    job.answer.truncated[index] = partial.result.truncated[offset + row]
                }
                observer.tokensEmbedded(partial.result.tokenCounts[offset..<(offset + slice.range.count)].reduce(0, +))
                job.remaining -= slice.range.count
                if job.remaining == 0 {
                    jobs[slice.job] = nil
                    job.continuation?.resume(returning: job.answer)
                } else {
                    jobs[slice.job] = job
                }
            }
        }
        dispatch()
    }

    private func fail(_ id: UInt64, _ job: inout Job, _ error: any Error) {
        forgetUnsent(&job)
        jobs[id] = nil
        job.continuation?.resume(throwing: error)
    }
}
