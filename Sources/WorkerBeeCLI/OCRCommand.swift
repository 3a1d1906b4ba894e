import ArgumentParser
import Foundation
import WorkerBee
import WorkerBeeWire
import WorkerBeeDocuments

struct OCRCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ocr",
        abstract: "Read the text in PNG, JPEG and PDF files, with Tesseract or a local vision model.",
        discussion: """
            A PDF page that carries text (a text layer) is read from it; other pages are rasterized \
            (poppler's pdftoppm) while the previous page is read, so memory stays flat however long the \
            file is, and read by the engine: Tesseract (no model needed) or a vision model (--model). \
            A page that fails is reported and counted, the others are still printed, and the exit status \
            is non-zero if any page failed. See docs/VISION.md.
            """
    )

    @Argument(help: "PNG, JPEG or PDF files.")
    var files: [String]

    @OptionGroup var vision: VisionOptions

    /// Which engine reads rasterized pages and images.
    enum Engine: String, ExpressibleByArgument, CaseIterable {
        case auto, tesseract, vision
    }

    @Option(help: "auto (the vision model if one is given or set in WORKERBEE_VISION_MODEL, else Tesseract), tesseract, or vision.")
    var engine: Engine = .auto

    @Option(help: "Tesseract languages joined by +, e.g. eng+deu.")
    var lang: String = "eng"

    @Flag(help: "OCR every PDF page even when it carries a text layer.")
    var forceOCR = false

    @Option(help: "Instruction for the model (default: transcribe the page as Markdown).")
    var prompt: String?

    @Option(help: "Seconds a page may take; 0 means no limit.")
    var timeout: Double = 120

    @Flag(help: "Print one JSON object per page.")
    var json = false

    func validate() throws {
        if timeout < 0 { throw ValidationError("--timeout cannot be negative") }
        if engine == .vision { try vision.requireModel() }
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1") }
    }

    /// The engine that reads images, `auto` resolved.
    var resolvedEngine: Engine {
        engine == .auto ? (vision.resolvedModel.isEmpty ? .tesseract : .vision) : engine
    }

    @Option(help: "Tesseract workers reading pages in parallel (default: one per core; the vision engine uses one).")
    var workers: Int?

    func run() async throws {
        let configuration = vision.configuration(ocrTimeout: WorkerConfiguration.Timeouts.limit(seconds: timeout))
        // Tesseract pages spread over one worker per core (one thread each); a vision model is
        // large, so it gets a single worker with every core.
        let engine = resolvedEngine
        let pool = engine == .tesseract
            ? WorkerPool(configuration: configuration, processes: workers, threadsPerProcess: 1)
            : WorkerPool(configuration: configuration, processes: 1, threadsPerProcess: vision.threads)
        let reader: OCREngine = engine == .tesseract ? .tesseract(language: lang) : .vision(.init(prompt: prompt, maxTokens: vision.maxTokens > 0 ? vision.maxTokens : nil))
        let window = pool.size + 1
        var pagesDone = 0
        var pagesFailed = 0
        // Pages of every file, in order, up to one per worker (plus one being prepared) in flight
        // at once and printed in order: memory stays flat however many and long the files.
        typealias Pending = (file: String, page: Int, pages: Int, task: Task<PageReading, Error>)
        var inFlight: [Pending] = []
        let preferTextLayer = !forceOCR
        func finishOldest() async {
            let pending = inFlight.removeFirst()
            let outcome = await pending.task.result
            if case .failure = outcome { pagesFailed += 1 } else { pagesDone += 1 }
            report(file: pending.file, page: pending.page, pages: pending.pages, outcome: outcome)
        }
        for file in files {
            let url = URL(fileURLWithPath: (file as NSString).expandingTildeInPath)
            let pages: DocumentPages
            do {
                pages = try await DocumentPages.open(url, dpi: vision.dpi ?? (engine == .tesseract ? 300 : 150), grayscale: engine == .tesseract)
            } catch {
                inFlight.append((file, 1, 1, Task { throw error }))
                continue
            }
            if pages.count == 0 {
                inFlight.append((file, 1, 1, Task { throw DocumentError(.unreadable, "\(url.lastPathComponent) has no pages") }))
                continue
            }
            for page in 1...pages.count {
                while inFlight.count >= window { await finishOldest() }
                inFlight.append((file, page, pages.count, Task { try await pool.read(page: page, of: pages, engine: reader, preferTextLayer: preferTextLayer) }))
            }
        }
        while !inFlight.isEmpty { await finishOldest() }
        await pool.stop()
        if pagesFailed > 0 {
            printError("\(pagesFailed) of \(pagesDone + pagesFailed) page(s) failed")
            throw ExitCode(1)
        }
    }

    private func report(file: String, page: Int, pages: Int, outcome: Result<PageReading, Error>) {
        let label = pages > 1 ? "\(file) page \(page)/\(pages)" : file
        switch outcome {
        case .success(let result):
            let detail = result.generatedTokens.map { "\($0) tokens" } ?? result.confidence.map { "confidence \($0)" } ?? "\(result.text.count) characters"
            printError(String(format: "%@: %@ (%@) in %.1f s", label, result.source, detail, result.seconds))
            if json {
                printJSON(result.fields.merging(["file": file, "page": page, "pages": pages]) { $1 })
            } else {
                print("==> \(label) <==")
                print(result.text)
            }
        case .failure(let error):
            printError("\(label): failed: \(error)")
            if json { printJSON(["file": file, "page": page, "pages": pages, "error": "\(error)"]) }
        }
    }

    private func printJSON(_ object: [String: Any]) {
        if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
            print(String(decoding: data, as: UTF8.self))
        }
    }
}
