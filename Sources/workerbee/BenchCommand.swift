import ArgumentParser
import Foundation
import WorkerBee
import WorkerBeeEngine
import WorkerBeeWire

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput, latency, cold start and memory.",
        subcommands: [BenchEmbed.self, BenchOCR.self, BenchCorpusCommand.self]
    )
}

struct BenchEmbed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Benchmark embedding through the worker (or in-process) and print figures.")

    @Option(help: "File of JSON strings, one per line (default: generated texts).")
    var input: String?

    @Option(help: "Generated text shape: sentences or chunks (~150 words).")
    var shape: String = "sentences"

    @Option(help: "Number of generated texts.")
    var count: Int = 1000

    @OptionGroup var embedding: EmbeddingOptions

    @Option(help: "Tokens per llama.cpp micro-batch.")
    var batchTokens: Int?

    @Option(help: "Timed passes over the texts; the best is reported.")
    var repeats: Int = 3

    @Flag(help: "One text per request, as the original design did.")
    var seedMode = false

    @Flag(help: "Run the engine in this process instead of a worker.")
    var inProcess = false

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        guard BenchCorpus.Shape(rawValue: shape) != nil else { throw ValidationError("--shape must be sentences or chunks") }
        if repeats < 1 || count < 1 { throw ValidationError("--repeats and --count must be at least 1") }
    }

    func run() async throws {
        let texts = try input.map { try TextInput.read(path: $0) } ?? BenchCorpus.texts(BenchCorpus.Shape(rawValue: shape)!, count: count)
        let perRequest = seedMode ? 1 : embedding.batchSize
        let batches = stride(from: 0, to: texts.count, by: perRequest).map { Array(texts[$0..<min($0 + perRequest, texts.count)]) }
        let models = modelsDirectory(embedding.modelsDir)
        let model = embedding.model
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let processes = inProcess ? 1 : (seedMode ? 1 : (embedding.workers ?? WorkerPool.defaultProcessCount(cores: cores)))
        let threadsEach = embedding.threads ?? max(1, cores / processes)
        var report = BenchReport(
            mode: inProcess ? "in-process" : (seedMode ? "worker, seed mode (1 text/request)" : "worker pool"),
            model: model, texts: texts.count, textsPerRequest: perRequest, processes: processes, threads: threadsEach)
        let embed: ([String]) async throws -> EmbedResult
        var stop: () async -> Void = {}
        var workerPIDs: () async -> [Int32] = { [] }
        let clock = ContinuousClock()
        let coldStart = clock.now
        if inProcess {
            let engine = try EmbeddingModel(url: models.resolve(model), options: .init(threads: threadsEach, batchTokens: batchTokens ?? EmbeddingModel.Options().batchTokens))
            embed = { try engine.embed($0) }
        } else {
            let pool = WorkerPool(
                configuration: WorkerConfiguration(modelsDirectory: models.url, embeddingModel: model, batchTokens: batchTokens, embedTimeout: nil),
                processes: processes, threadsPerProcess: threadsEach)
            embed = { try await pool.embedResult($0) }
            stop = { await pool.stop() }
            workerPIDs = { await pool.pids() }
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

struct BenchReport: Encodable {
    var mode: String
    var model: String
    var texts: Int
    var textsPerRequest: Int
    var processes: Int
    var threads: Int
    var tokens = 0
    var seconds = 0.0
    var textsPerSecond = 0.0
    var tokensPerSecond = 0.0
    var latencyMs: [Double] = []
    var coldStartSeconds = 0.0
    var oneTextRoundTripMs = 0.0
    var hostPeakBytes: Int?
    var workerPeakBytes: Int?

    var text: String {
        let mib = { (bytes: Int?) in bytes.map { String(format: "%.1f MiB", Double($0) / 1_048_576) } ?? "n/a" }
        return """
            mode: \(mode); model: \(model); processes: \(processes) x \(threads) thread(s)
            texts: \(texts) (\(tokens) tokens), \(textsPerRequest) per request
            throughput: \(String(format: "%.1f", textsPerSecond)) texts/s, \(String(format: "%.0f", tokensPerSecond)) tokens/s (best pass: \(String(format: "%.3f", seconds)) s)
            request latency: p50 \(String(format: "%.2f", latencyMs[0])) ms, p95 \(String(format: "%.2f", latencyMs[1])) ms, p99 \(String(format: "%.2f", latencyMs[2])) ms
            one-text round trip (median of 30): \(String(format: "%.2f", oneTextRoundTripMs)) ms
            cold start (start to first vector): \(String(format: "%.3f", coldStartSeconds)) s
            peak memory: host \(mib(hostPeakBytes)), workers \(mib(workerPeakBytes)) (sum over workers)
            """
    }
}

extension Duration {
    var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}

struct BenchOCR: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ocr",
        abstract: "Benchmark vision OCR through the worker: time per page, tokens/s, memory.")

    @Argument(help: "PNG, JPEG or PDF file.")
    var file: String

    @OptionGroup var vision: VisionOptions

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        let worker = WorkerProcess(configuration: vision.configuration(ocrTimeout: nil))
        let clock = ContinuousClock()
        let pages = try await PageSource.open(URL(fileURLWithPath: (file as NSString).expandingTildeInPath), dpi: vision.dpi)
        var seconds: [Double] = []
        var renderSeconds: [Double] = []
        var generated = 0
        var promptTokens = 0
        var coldStart = 0.0
        let start = clock.now
        for page in 1...pages.count {
            let renderStart = clock.now
            let image = try await pages.image(page)
            renderSeconds.append((clock.now - renderStart).seconds)
            let pageStart = clock.now
            let result = try await worker.visionOCRResult(image: image, maxTokens: vision.maxTokens)
            if page == 1 { coldStart = (clock.now - start).seconds }
            seconds.append((clock.now - pageStart).seconds)
            generated += result.generatedTokens
            promptTokens += result.promptTokens
        }
        let workerPeak = await worker.pid.flatMap { MemoryUsage.peakResident(pid: $0) }
        await worker.stop()
        let total = seconds.reduce(0, +)
        let figures: [String: Double] = [
            "pages": Double(pages.count), "secondsPerPage": total / Double(pages.count),
            "renderSecondsPerPage": renderSeconds.reduce(0, +) / Double(pages.count),
            "generatedTokensPerSecond": Double(generated) / max(total, 1e-9), "promptTokensPerPage": Double(promptTokens) / Double(pages.count),
            "coldStartSeconds": coldStart, "hostPeakMiB": Double(MemoryUsage.peakResident() ?? 0) / 1_048_576,
            "workerPeakMiB": Double(workerPeak ?? 0) / 1_048_576,
        ]
        if json {
            let data = try JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(String(format: """
                pages: %d (%.0f prompt tokens/page incl. image), %d generated tokens
                time per page: %.3f s (+ %.3f s rasterizing), %.1f generated tokens/s
                cold start (start to first page): %.3f s
                peak memory: host %.1f MiB, worker %.1f MiB
                """, pages.count, figures["promptTokensPerPage"]!, generated, figures["secondsPerPage"]!, figures["renderSecondsPerPage"]!,
                figures["generatedTokensPerSecond"]!, coldStart, figures["hostPeakMiB"]!, figures["workerPeakMiB"]!))
        }
    }
}

struct BenchCorpusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corpus",
        abstract: "Print the generated benchmark texts as JSON strings, one per line (to feed other tools).")

    @Option(help: "sentences or chunks (~150 words).")
    var shape: String = "sentences"

    @Option(help: "Number of texts.")
    var count: Int = 1000

    func run() throws {
        guard let shape = BenchCorpus.Shape(rawValue: shape) else { throw ValidationError("--shape must be sentences or chunks") }
        var output = ""
        for text in BenchCorpus.texts(shape, count: count) {
            output += String(decoding: try JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed]), as: UTF8.self) + "\n"
        }
        print(output, terminator: "")
    }
}
