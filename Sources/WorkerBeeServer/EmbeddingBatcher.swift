import Foundation
import WorkerBee
import WorkerBeeWire

/// Coalesces the texts of concurrent HTTP requests into worker batches.
///
/// Requests queue their texts in arrival order. As long as fewer batches are in flight than
/// the pool has workers, the next batch goes out at once with whatever is queued (up to
/// `batchTexts` texts and `batchTokens` estimated tokens), so an idle server answers a lone
/// request without waiting for company, and a busy one serves 64 clients with one sentence each
/// like a few batched calls. The queue is bounded in estimated tokens: beyond it a request is
/// refused (429). A request whose client goes away (its task is cancelled) has its texts that
/// were not yet sent dropped from the queue. Each text's vector goes back to the request it
/// came from; a text that crashes the worker every time fails only its own request.
actor EmbeddingBatcher {
    /// What a request gets back.
    struct Answer: Sendable {
        var vectors: [[Float]]
        var tokenCounts: [Int]
        var truncated: [Bool]
    }

    /// The queue is full: come back later.
    struct QueueFull: Error {}

    private struct Job {
        let model: String
        let normalize: Bool
        let texts: [String]
        var answer: Answer
        var remaining: Int
        var unsent: Range<Int>
        let cost: Int
        let enqueued: ContinuousClock.Instant
        var continuation: CheckedContinuation<Answer, any Error>?
    }

    private struct Slice {
        let job: UInt64
        let range: Range<Int>
    }

    private let pool: WorkerPool
    private let configuration: ServerConfiguration
    private let metrics: ServerMetrics
    private var jobs: [UInt64: Job] = [:]
    /// Jobs with texts not yet sent, in arrival order.
    private var waiting: [UInt64] = []
    private var nextID: UInt64 = 0
    private var queuedTokens = 0
    private var queuedTexts = 0
    private var inFlight = 0
    private var cancelledEarly: Set<UInt64> = []

    init(pool: WorkerPool, configuration: ServerConfiguration, metrics: ServerMetrics) {
        self.pool = pool
        self.configuration = configuration
        self.metrics = metrics
    }

    /// Embeds `texts` with `model`, batched with other requests.
    /// - Throws: ``QueueFull``, ``WorkerError`` (a `.poisonInput` names the request's own text
    ///   index), or `CancellationError`.
    nonisolated func embed(_ texts: [String], model: String, normalize: Bool) async throws -> Answer {
        let id = await reserveID()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                Task { await self.enqueue(id, texts: texts, model: model, normalize: normalize, continuation: continuation) }
            }
        } onCancel: {
            Task { await self.cancel(id) }
        }
    }

    private func reserveID() -> UInt64 {
        nextID += 1
        return nextID
    }

    private func enqueue(_ id: UInt64, texts: [String], model: String, normalize: Bool, continuation: CheckedContinuation<Answer, any Error>) {
        if cancelledEarly.remove(id) != nil {
            continuation.resume(throwing: CancellationError())
            return
        }
        let cost = texts.reduce(0) { $0 + ServerConfiguration.estimatedTokens($1) }
        if queuedTokens > 0 && queuedTokens + cost > configuration.maxQueuedTokens {
            continuation.resume(throwing: QueueFull())
            return
        }
        let empty = Answer(vectors: Array(repeating: [], count: texts.count), tokenCounts: Array(repeating: 0, count: texts.count), truncated: Array(repeating: false, count: texts.count))
        jobs[id] = Job(
            model: model, normalize: normalize, texts: texts, answer: empty, remaining: texts.count, unsent: 0..<texts.count, cost: cost,
            enqueued: .now, continuation: continuation)
        waiting.append(id)
        queuedTokens += cost
        queuedTexts += texts.count
        metrics.queueDepth.record(queuedTexts)
        dispatch()
    }

    private func cancel(_ id: UInt64) {
        guard var job = jobs[id] else {
            cancelledEarly.insert(id)
            return
        }
        forgetUnsent(&job)
        let continuation = job.continuation
        jobs[id] = nil
        continuation?.resume(throwing: CancellationError())
    }

    /// Drops a job's texts that were not sent yet from the queue's accounting.
    private func forgetUnsent(_ job: inout Job) {
        let unsentTexts = Array(job.texts[job.unsent])
        queuedTokens -= unsentTexts.reduce(0) { $0 + ServerConfiguration.estimatedTokens($1) }
        queuedTexts -= unsentTexts.count
        job.unsent = job.unsent.upperBound..<job.unsent.upperBound
        metrics.queueDepth.record(queuedTexts)
    }

    /// Sends batches while workers are free and texts are waiting.
    private func dispatch() {
        while inFlight < pool.size, let (model, normalize, slices, texts) = nextBatch() {
            inFlight += 1
            metrics.batchTexts.record(texts.count)
            metrics.batchTokens.record(texts.reduce(0) { $0 + ServerConfiguration.estimatedTokens($1) })
            Task {
                let outcome: Result<PartialEmbedding, any Error>
                do {
                    // One batch per worker at a time: each runs on its own worker and is done sooner.
                    outcome = .success(try await self.pool.embedAllowingPoison(texts, model: model, normalize: normalize, spreadOverWorkers: false))
                } catch {
                    outcome = .failure(error)
                }
                self.finish(slices, outcome)
            }
        }
    }

    /// The texts of the next batch: from the oldest waiting job's model, in arrival order.
    private func nextBatch() -> (model: String, normalize: Bool, slices: [Slice], texts: [String])? {
        waiting.removeAll { jobs[$0] == nil || jobs[$0]!.unsent.isEmpty }
        guard let first = waiting.first, let head = jobs[first] else { return nil }
        // Share what is queued among the free workers, so that one worker does not take it all
        // while another idles: the batch is at most queued / free workers (and the cap).
        let freeWorkers = max(1, pool.size - inFlight)
        let cap = max(1, min(configuration.batchTexts, (queuedTexts + freeWorkers - 1) / freeWorkers))
        var slices: [Slice] = []
        var texts: [String] = []
        var tokens = 0
        for id in waiting {
            guard var job = jobs[id], job.model == head.model, job.normalize == head.normalize else { continue }
            var end = job.unsent.lowerBound
            while end < job.unsent.upperBound {
                let cost = ServerConfiguration.estimatedTokens(job.texts[end])
                if !texts.isEmpty && (texts.count >= cap || tokens + cost > configuration.batchTokens) { break }
                texts.append(job.texts[end])
                tokens += cost
                end += 1
            }
            if end > job.unsent.lowerBound {
                slices.append(Slice(job: id, range: job.unsent.lowerBound..<end))
                if job.unsent.lowerBound == 0 { metrics.queueWait.record(duration: ContinuousClock.now - job.enqueued) }
                job.unsent = end..<job.unsent.upperBound
                jobs[id] = job
            }
            if texts.count >= cap || tokens >= configuration.batchTokens { break }
        }
        queuedTokens -= tokens
        queuedTexts -= texts.count
        metrics.queueDepth.record(queuedTexts)
        return texts.isEmpty ? nil : (head.model, head.normalize, slices, texts)
    }

    private func finish(_ slices: [Slice], _ outcome: Result<PartialEmbedding, any Error>) {
        inFlight -= 1
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
                metrics.tokensEmbedded.increment(by: partial.result.tokenCounts[offset..<(offset + slice.range.count)].reduce(0, +))
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
