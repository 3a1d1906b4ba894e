import ArgumentParser
import Foundation
import WorkerBee
import WorkerBeeWire

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
    }

    /// The engine that reads images, `auto` resolved.
    var resolvedEngine: Engine {
        engine == .auto ? (vision.resolvedModel.isEmpty ? .tesseract : .vision) : engine
    }

    /// One page's text and where it came from.
    struct PageText {
        var text: String
        var source: String
        var confidence: Int?
        var promptTokens: Int?
        var generatedTokens: Int?
    }

    func run() async throws {
        let worker = WorkerProcess(configuration: vision.configuration(ocrTimeout: WorkerConfiguration.Timeouts.limit(seconds: timeout)))
        var pagesDone = 0
        var pagesFailed = 0
        for file in files {
            let url = URL(fileURLWithPath: (file as NSString).expandingTildeInPath)
            let pages: DocumentPages
            do {
                pages = try await DocumentPages.open(url, dpi: vision.dpi)
            } catch {
                pagesFailed += 1
                report(file: file, page: 1, pages: 1, outcome: .failure(error), seconds: 0)
                continue
            }
            // Prepare page n+1 (its text layer, or its image) while page n is read.
            let preferTextLayer = !forceOCR
            var next: Task<DocumentPages.Content, Error>? = Task { try await pages.content(1, preferTextLayer: preferTextLayer) }
            for page in 1...pages.count {
                guard let current = next else { break }
                next = page < pages.count ? Task { try await pages.content(page + 1, preferTextLayer: preferTextLayer) } : nil
                let start = Date()
                let outcome: Result<PageText, Error>
                do {
                    switch try await current.value {
                    case .text(let text):
                        outcome = .success(PageText(text: text, source: "text-layer"))
                    case .image(let image):
                        switch resolvedEngine {
                        case .vision, .auto:
                            let result = try await worker.visionOCRResult(image: image, prompt: prompt, maxTokens: vision.maxTokens)
                            outcome = .success(PageText(text: result.text, source: "vision", promptTokens: result.promptTokens, generatedTokens: result.generatedTokens))
                        case .tesseract:
                            let result = try await worker.recognizeText(image: image, language: lang)
                            outcome = .success(PageText(text: result.text, source: "tesseract", confidence: result.confidence))
                        }
                    }
                } catch {
                    outcome = .failure(error)
                }
                if case .failure = outcome { pagesFailed += 1 } else { pagesDone += 1 }
                report(file: file, page: page, pages: pages.count, outcome: outcome, seconds: Date().timeIntervalSince(start))
            }
        }
        await worker.stop()
        if pagesFailed > 0 {
            printError("\(pagesFailed) of \(pagesDone + pagesFailed) page(s) failed")
            throw ExitCode(1)
        }
    }

    private func report(file: String, page: Int, pages: Int, outcome: Result<PageText, Error>, seconds: Double) {
        let label = pages > 1 ? "\(file) page \(page)/\(pages)" : file
        switch outcome {
        case .success(let result):
            let detail = result.generatedTokens.map { "\($0) tokens" } ?? result.confidence.map { "confidence \($0)" } ?? "\(result.text.count) characters"
            printError(String(format: "%@: %@ (%@) in %.1f s", label, result.source, detail, seconds))
            if json {
                var object: [String: Any] = ["file": file, "page": page, "pages": pages, "text": result.text, "source": result.source, "seconds": seconds]
                if let confidence = result.confidence { object["confidence"] = confidence }
                if let promptTokens = result.promptTokens { object["promptTokens"] = promptTokens }
                if let generatedTokens = result.generatedTokens { object["generatedTokens"] = generatedTokens }
                printJSON(object)
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
