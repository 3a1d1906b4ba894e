import Foundation
import Logging
import WorkerBeeWire

/// Several worker processes behind one API, with the machine's cores divided between them.
///
/// An embed call is cut into requests within the configuration's ``EmbedRequestLimit`` (or into
/// one slice per worker when it is smaller than that), which the workers take as they become
/// free; the results are put back together in input order. Vision requests go to the least busy
/// worker. Each worker is a ``WorkerProcess`` with its own log, restart and retry, so a crash in
/// one does not disturb the others. For more texts than fit in memory, see
/// ``embeddings(of:model:normalize:)``.
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
    public nonisolated let minimumTextsToSplit: Int
    private var inFlight: [Int]

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

    /// The pids of the running workers.
    public func pids() async -> [Int32] {
        var pids: [Int32] = []
        for worker in workers { if let pid = await worker.pid { pids.append(pid) } }
        return pids
    }

    /// Workers spawned so far, over all workers.
    public func spawnCount() async -> Int {
        var total = 0
        for worker in workers { total += await worker.spawnCount }
        return total
    }

    /// Embeds texts across the workers; one vector per text, in order.
    /// - Throws: ``WorkerError`` or `CancellationError`, as ``WorkerProcess/embed(_:model:)``.
    public func embed(_ texts: [String], model: String? = nil) async throws -> [[Float]] {
        try await embedResult(texts, model: model).vectors
    }

    /// Embeds texts across the workers and returns vectors with token counts and truncation flags.
    ///
    /// Calls of any size work, as ``WorkerProcess/embedResult(_:model:normalize:)`` describes:
    /// each worker request stays within the request limit and its own timeout.
    /// - Throws: ``WorkerError`` or `CancellationError`.
    public func embedResult(_ texts: [String], model: String? = nil, normalize: Bool = true) async throws -> EmbedResult {
        var ranges = configuration.requestLimit.requests(for: texts)
        if ranges.count < workers.count && texts.count >= minimumTextsToSplit {
            ranges = Self.slices(of: texts, parts: workers.count)
        }
        if ranges.count <= 1 {
            if texts.isEmpty { return .empty(dimension: configuration.models.embeddingDimension ?? 0) }
            return try await withWorker { try await $0.embedRequest(texts, model: model, normalize: normalize) }
        }
        var parts = [EmbedResult?](repeating: nil, count: ranges.count)
        try await withThrowingTaskGroup(of: (Int, EmbedResult).self) { group in
            var next = 0
            func launch() {
                let index = next
                let part = Array(texts[ranges[index]])
                next += 1
                group.addTask { (index, try await self.withWorker { try await $0.embedRequest(part, model: model, normalize: normalize) }) }
            }
            // As many requests in flight as there are workers: each worker takes the next one
            // when it finishes, so a slow or restarting worker does not hold the others back.
            while next < min(workers.count, ranges.count) { launch() }
            for try await (index, result) in group {
                parts[index] = result
                if next < ranges.count { launch() }
            }
        }
        var result = EmbedResult.empty()
        result.reserveCapacity(texts.count, dimension: parts.first??.dimension ?? 0)
        for part in parts { if let part { result.append(part) } }
        return result
    }

    /// Embeds a sequence of texts of any length as it arrives, and gives the results in input
    /// order as they are ready.
    ///
    /// Backpressure is built in: input is read only while the consumer asks for results, and
    /// never more than about two requests per worker ahead of it, so memory stays flat however
    /// long the input. Stopping the iteration (or cancelling its task) cancels what is in flight.
    ///
    /// ```swift
    /// for try await item in pool.embeddings(of: lines) {
    ///     print(item.index, item.vector.count)
    /// }
    /// ```
    /// - Parameters:
    ///   - input: the texts.
    ///   - model: a model name or path; nil means the configured embedding model.
    ///   - normalize: L2-normalise each vector (default true).
    public nonisolated func embeddings<Input: AsyncSequence>(of input: Input, model: String? = nil, normalize: Bool = true) -> EmbeddingStream<Input>
    where Input.Element == String {
        EmbeddingStream(pool: self, input: input, model: model, normalize: normalize, window: max(2, 2 * workers.count))
    }

    /// Reads the text in an image on the least busy worker.
    public func visionOCRResult(image: Data, model: String? = nil, projector: String? = nil, prompt: String? = nil, maxTokens: Int = 0) async throws -> VisionResult {
        try await withWorker { try await $0.visionOCRResult(image: image, model: model, projector: projector, prompt: prompt, maxTokens: maxTokens) }
    }

    /// Runs `body` on the worker with the fewest requests in flight.
    private func withWorker<T: Sendable>(_ body: @Sendable (WorkerProcess) async throws -> T) async throws -> T {
        let index = inFlight.indices.min { inFlight[$0] < inFlight[$1] } ?? 0
        inFlight[index] += 1
        defer { inFlight[index] -= 1 }
        return try await body(workers[index])
    }

    /// Contiguous ranges of similar total length (UTF-8 bytes), at most `parts` of them.
    static func slices(of texts: [String], parts: Int) -> [Range<Int>] {
        guard parts > 1, texts.count > 1 else { return [0..<texts.count] }
        let lengths = texts.map { EmbedRequestLimit.cost(of: $0) }
        let total = lengths.reduce(0, +)
        var ranges: [Range<Int>] = []
        var start = 0
        var accumulated = 0
        for (index, length) in lengths.enumerated() {
            accumulated += length
            let target = total * (ranges.count + 1) / parts
            if accumulated >= target && ranges.count < parts - 1 && index + 1 < texts.count {
                ranges.append(start..<(index + 1))
                start = index + 1
            }
        }
        ranges.append(start..<texts.count)
        return ranges
    }
}
