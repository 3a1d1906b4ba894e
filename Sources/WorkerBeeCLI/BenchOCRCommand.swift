import ArgumentParser
import Foundation
import WorkerBee
import WorkerBeeEngine
import WorkerBeeWire
import WorkerBeeFixtures
import WorkerBeeDocuments

struct BenchOCR: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ocr",
        abstract: "Benchmark OCR: a vision model on a file (time per page, tokens/s, memory), or Tesseract's accuracy on the generated evaluation set (--eval).",
        discussion: """
            --eval writes pages with known text under each condition (fonts, sizes, a slight rotation, \
            noise, JPEG compression, two columns), rasterizes them with poppler at each --eval-dpi, reads \
            them with Tesseract through the worker pool and prints the character error rate (edit \
            distance over the reference length, white space runs counted as one space) and words per \
            second of one worker. See docs/VISION.md.
            """)

    @Argument(help: "PNG, JPEG or PDF file (vision model benchmark; not with --eval).")
    var file: String?

    @OptionGroup var vision: VisionOptions

    @Flag(help: "Measure Tesseract's accuracy on the generated evaluation set instead.")
    var eval = false

    @Option(help: "Evaluation conditions, comma-separated (default: all of \(OCREvaluation.conditions.map(\.name).joined(separator: ", "))).")
    var conditions: String?

    @Option(help: "Resolutions the evaluation pages are rasterized at, comma-separated.")
    var evalDPI: String = "150,300"

    @Option(help: "Evaluation pages per condition and resolution.")
    var evalPages: Int = 2

    @Option(help: "Keep the evaluation pages, their reference texts and readings in this folder.")
    var evalKeep: String?

    @Option(help: "Tesseract languages for the evaluation.")
    var lang: String = "eng"

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        if eval {
            if file != nil { throw ValidationError("--eval generates its own pages; leave out the file") }
            if evalPages < 1 { throw ValidationError("--eval-pages must be at least 1") }
            _ = try selectedConditions()
            _ = try resolutions()
        } else {
            guard file != nil else { throw ValidationError("give a PNG, JPEG or PDF file to read with the vision model, or --eval") }
            try vision.requireModel()
        }
    }

    func selectedConditions() throws -> [OCREvaluation.Condition] {
        guard let conditions else { return OCREvaluation.conditions }
        return try conditions.split(separator: ",").map { name in
            guard let condition = OCREvaluation.conditions.first(where: { $0.name == name.trimmingCharacters(in: .whitespaces) }) else {
                throw ValidationError("no evaluation condition \(name); there are \(OCREvaluation.conditions.map(\.name).joined(separator: ", "))")
            }
            return condition
        }
    }

    func resolutions() throws -> [Int] {
        try evalDPI.split(separator: ",").map { text in
            guard let dpi = Int(text.trimmingCharacters(in: .whitespaces)), (50...1200).contains(dpi) else {
                throw ValidationError("--eval-dpi takes resolutions between 50 and 1200, comma-separated")
            }
            return dpi
        }
    }

    func run() async throws {
        if eval { return try await runEvaluation() }
        guard let file else { return }
        let worker = WorkerProcess(configuration: vision.configuration(ocrTimeout: nil))
        let clock = ContinuousClock()
        let pages = try await DocumentPages.open(URL(fileURLWithPath: (file as NSString).expandingTildeInPath), dpi: vision.dpi ?? 150)
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
            let result = try await worker.readText(in: image, engine: .vision(.init(maxTokens: vision.maxTokens > 0 ? vision.maxTokens : nil)))
            if page == 1 { coldStart = (clock.now - start).seconds }
            seconds.append((clock.now - pageStart).seconds)
            generated += result.generatedTokens ?? 0
            promptTokens += result.promptTokens ?? 0
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

    /// Reads the evaluation set with Tesseract over a pool (one worker per core, one thread each)
    /// and prints a row per condition and resolution.
    private func runEvaluation() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-ocr-eval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let pool = WorkerPool(configuration: vision.configuration(ocrTimeout: nil), threadsPerProcess: 1)
        defer { Task { await pool.stop() } }
        var scores: [OCREvaluation.Score] = []
        if !json { print("condition     dpi  pages  characters    CER   words/s  what") }
        for condition in try selectedConditions() {
            for dpi in try resolutions() {
                let pages = try await OCREvaluation.pages(condition, dpi: dpi, count: evalPages, in: folder)
                let language = lang
                let readings = try await withThrowingTaskGroup(of: (Int, TextReading, Double).self) { group in
                    for (index, page) in pages.enumerated() {
                        group.addTask {
                            let clock = ContinuousClock()
                            let start = clock.now
                            let reading = try await pool.readText(in: page.image, engine: .tesseract(language: language))
                            return (index, reading, (clock.now - start).seconds)
                        }
                    }
                    var readings: [(Int, TextReading, Double)] = []
                    for try await reading in group { readings.append(reading) }
                    return readings.sorted { $0.0 < $1.0 }
                }
                var characters = 0, errors = 0, words = 0, seconds = 0.0
                for (index, reading, time) in readings {
                    let reference = pages[index].reference
                    if let evalKeep {
                        let keep = URL(fileURLWithPath: (evalKeep as NSString).expandingTildeInPath)
                        try FileManager.default.createDirectory(at: keep, withIntermediateDirectories: true)
                        let stem = "\(condition.name)-\(dpi)-\(index + 1)"
                        try pages[index].image.write(to: keep.appendingPathComponent(stem + (condition.jpegQuality == nil ? ".pgm" : ".jpg")))
                        try Data(reference.utf8).write(to: keep.appendingPathComponent(stem + ".reference.txt"))
                        try Data(reading.text.utf8).write(to: keep.appendingPathComponent(stem + ".reading.txt"))
                    }
                    characters += TextComparison.normalized(reference).count
                    errors += TextComparison.characterErrors(reading.text, reference: reference)
                    words += reference.split(separator: " ").count
                    seconds += time
                }
                let score = OCREvaluation.Score(condition: condition.name, dpi: dpi, pages: pages.count, characters: characters, errors: errors, words: words, seconds: seconds)
                scores.append(score)
                if json {
                    let data = try JSONSerialization.data(withJSONObject: score.fields, options: [.sortedKeys])
                    print(String(decoding: data, as: UTF8.self))
                } else {
                    let name = condition.name.padding(toLength: 12, withPad: " ", startingAt: 0)
                    print(name + String(format: " %4d  %5d  %10d  %5.2f%%  %8.1f  ", dpi, pages.count, characters, 100 * score.characterErrorRate, score.wordsPerSecond) + condition.summary)
                }
            }
        }
        await pool.stop()
    }
}
