import Foundation
import Logging
import WorkerBeeWire

/// Several worker processes behind one API, with the machine's cores divided between them.
///
/// A large embed call is split into contiguous slices of similar size, one per worker, run in
/// parallel and put back together in input order; small calls and vision requests go to the
/// least busy worker. Each worker is a ``WorkerProcess`` with its own log, restart and retry, so
/// a crash in one does not disturb the others.
///
/// ggml synchronises its threads at every graph node, which costs a lot on the small matrices of
/// embedding models, so several single-threaded processes can beat one process with all threads;
/// see docs/PERFORMANCE.md for the figures behind the default.
public actor WorkerPool {
    /// The workers.
    public nonisolated let workers: [WorkerProcess]
    private var inFlight: [Int]
    /// Texts below which an embed call is not split.
    public nonisolated let minimumTextsToSplit: Int

    /// The default number of processes for `cores` cores: one single-threaded process per core.
    public static func defaultProcessCount(cores: Int = ProcessInfo.processInfo.activeProcessorCount) -> Int {
        max(1, cores)
    }

    /// Creates a pool; nothing starts until the first request or ``start()``.
    /// - Parameters:
    ///   - configuration: the template for every worker; `threads` is replaced by `threadsPerProcess`.
    ///   - processes: how many workers (default: ``defaultProcessCount(cores:)``).
    ///   - threadsPerProcess: CPU threads each (default: cores divided by processes, at least 1).
    ///   - minimumTextsToSplit: calls with fewer texts go to one worker.
    ///   - logger: where supervision events go.
    public init(
        configuration: WorkerConfiguration = WorkerConfiguration(), processes: Int? = nil, threadsPerProcess: Int? = nil,
        minimumTextsToSplit: Int = 8, logger: Logger = Logger(label: "workerbee.worker-pool")
    ) {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let count = max(1, processes ?? Self.defaultProcessCount(cores: cores))
        let threads = max(1, threadsPerProcess ?? configuration.threads.map { $0 / count } ?? cores / count)
        workers = (0..<count).map { index in
            var each = configuration
            each.threads = threads
            if count > 1 {
                let base = (configuration.logFileName as NSString).deletingPathExtension
                each.logFileName = "\(base)-\(index + 1).log"
            }
            return WorkerProcess(configuration: each, logger: logger)
        }
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

    /// Embeds texts across the workers; one vector per text, in order.
    /// - Throws: ``WorkerError`` or `CancellationError`, as ``WorkerProcess/embed(_:model:)``.
    public func embed(_ texts: [String], model: String? = nil) async throws -> [[Float]] {
        try await embedResult(texts, model: model).vectors
    }

    /// Embeds texts across the workers and returns vectors with token counts and truncation flags.
    public func embedResult(_ texts: [String], model: String? = nil, normalize: Bool = true) async throws -> EmbedResult {
        let slices = Self.slices(of: texts, parts: texts.count >= minimumTextsToSplit ? workers.count : 1)
        if slices.count == 1 {
            return try await withWorker { try await $0.embedResult(texts, model: model, normalize: normalize) }
        }
        let results = try await withThrowingTaskGroup(of: (Int, EmbedResult).self) { group in
            for (index, range) in slices.enumerated() {
                let part = Array(texts[range])
                group.addTask { (index, try await self.withWorker { try await $0.embedResult(part, model: model, normalize: normalize) }) }
            }
            var results = [EmbedResult?](repeating: nil, count: slices.count)
            for try await (index, result) in group { results[index] = result }
            return results.compactMap { $0 }
        }
        let dimension = results.first { $0.count > 0 }?.dimension ?? 0
        return EmbedResult(
            dimension: dimension, values: results.flatMap(\.values),
            tokenCounts: results.flatMap(\.tokenCounts), truncated: results.flatMap(\.truncated))
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
        let lengths = texts.map { $0.utf8.count + 16 }
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
