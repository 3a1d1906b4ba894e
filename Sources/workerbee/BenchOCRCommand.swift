import ArgumentParser
import Foundation
import WorkerBee
import WorkerBeeEngine
import WorkerBeeWire

struct BenchOCR: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ocr",
        abstract: "Benchmark vision OCR through the worker: time per page, tokens/s, memory.")

    @Argument(help: "PNG, JPEG or PDF file.")
    var file: String

    @OptionGroup var vision: VisionOptions

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        try vision.requireModel()
    }

    func run() async throws {
        let worker = WorkerProcess(configuration: vision.configuration(ocrTimeout: nil))
        let clock = ContinuousClock()
        let pages = try await DocumentPages.open(URL(fileURLWithPath: (file as NSString).expandingTildeInPath), dpi: vision.dpi)
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
