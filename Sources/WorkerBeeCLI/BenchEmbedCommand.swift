import ArgumentParser
import Foundation
import WorkerBee
import WorkerBeeEngine
import WorkerBeeWire

struct BenchEmbed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Benchmark embedding through the worker (or in-process) and print figures.")

    @Option(help: "File of JSON strings, one per line (default: generated texts).")
    var input: String?

    @Option(help: "Generated text shape: sentences or chunks (~150 words).")
    var shape: BenchCorpus.Shape = .sentences

    @Option(help: "Number of generated texts.")
    var count: Int = 1000

    @OptionGroup var embedding: EmbeddingOptions

    @Option(help: "Texts per worker request, at most 512 (the pool splits larger calls anyway).")
    var batchSize: Int = 256

    @Option(help: "Tokens per llama.cpp micro-batch.")
    var batchTokens: Int?

    @Option(help: "Timed passes over the texts; the best is reported.")
    var repeats: Int = 3

    @Flag(help: "One text per request, one worker: the baseline the batched defaults are measured against.")
    var oneTextPerRequest = false

    @Flag(help: "Run the engine in this process instead of a worker.")
    var inProcess = false

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if repeats < 1 || count < 1 { throw ValidationError("--repeats and --count must be at least 1") }
    }

    func run() async throws {
        let texts: [String]
        if let input {
            texts = try await TextInput.read(path: input)
        } else {
            texts = BenchCorpus.texts(shape, count: count)
        }
        let perRequest = oneTextPerRequest ? 1 : batchSize
        let batches = stride(from: 0, to: texts.count, by: perRequest).map { Array(texts[$0..<min($0 + perRequest, texts.count)]) }
        let models = modelsDirectory(embedding.modelsDir)
        let model = embedding.model
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let processes = inProcess ? 1 : (oneTextPerRequest ? 1 : (embedding.workers ?? WorkerPool.defaultProcessCount(cores: cores)))
        let threadsEach = embedding.threads ?? max(1, cores / processes)
        var report = BenchReport(
            mode: inProcess ? "in-process" : (oneTextPerRequest ? "worker, one text per request" : "worker pool"),
            model: model, texts: texts.count, textsPerRequest: perRequest, processes: processes, threads: threadsEach)
        let embed: ([String]) async throws -> EmbedResult
        var stop: () async -> Void = {}
        var workerPIDs: () async -> [Int32] = { [] }
        let clock = ContinuousClock()
        let coldStart = clock.now
        if inProcess {
            let engine = try EmbeddingModel(url: models.resolve(model), options: .init(threads: threadsEach, batchTokens: batchTokens ?? EmbeddingModel.Options().batchTokens, batchInvariant: embedding.batchInvariant))
            embed = { try engine.embed($0) }
        } else {
            let pool = WorkerPool(
                configuration: WorkerConfiguration(
                    models: .init(directory: models.url, embedding: ModelReference(model)),
                    engine: .init(batchTokens: batchTokens, memoryLimit: embedding.workerMemory?.bytes, batchInvariant: embedding.batchInvariant), timeouts: .init(embed: nil)),
                processes: processes, threadsPerProcess: threadsEach)
            embed = { try await pool.embed(.texts($0)).result }
            stop = { await pool.stop() }
            workerPIDs = { await pool.statistics.pids }
        }
        _ = try await embed(["cold start"])
        report.coldStartSeconds = (clock.now - coldStart).seconds

        var single: [Double] = []
        for index in 0..<30 {
            let start = clock.now
            _ = try await embed([texts[index % texts.count]])
            single.append((clock.now - start).seconds)
        }
        report.oneTextRoundTripMs = percentile(single, 0.5) * 1000

        var latencies: [Double] = []
        var best = Double.infinity
        var tokens = 0
        let cpuStart = MemoryUsage.cpuSeconds()
        for _ in 0..<repeats {
            tokens = 0
            let start = clock.now
            for batch in batches {
                let requestStart = clock.now
                let result = try await embed(batch)
                latencies.append((clock.now - requestStart).seconds)
                tokens += result.tokenCounts.reduce(0, +)
            }
            best = min(best, (clock.now - start).seconds)
        }
        report.hostCPUMillisecondsPer1000Vectors = (MemoryUsage.cpuSeconds() - cpuStart) * 1000 / (Double(texts.count * repeats) / 1000)
        report.tokens = tokens
        report.seconds = best
        report.textsPerSecond = Double(texts.count) / best
        report.tokensPerSecond = Double(tokens) / best
        report.latencyMs = [0.5, 0.95, 0.99].map { percentile(latencies, $0) * 1000 }
        report.hostPeakBytes = MemoryUsage.peakResident()
        let peaks = await workerPIDs().compactMap { MemoryUsage.peakResident(pid: $0) }
        if !peaks.isEmpty { report.workerPeakBytes = peaks.reduce(0, +) }
        await stop()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.text)
        }
    }

    private func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
    }
}
