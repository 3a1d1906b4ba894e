import ArgumentParser
import Foundation
import WorkerBee
import WorkerBeeWire

struct OCRCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ocr",
        abstract: "Read the text in PNG, JPEG and PDF files with a local vision model.",
        discussion: """
            PDF files are rasterized page by page (poppler's pdftoppm) while the previous page is read, so \
            memory stays flat however long the file is. A page that fails is reported and counted, the \
            others are still printed, and the exit status is non-zero if any page failed. See docs/VISION.md \
            for models.
            """
    )

    @Argument(help: "PNG, JPEG or PDF files.")
    var files: [String]

    @OptionGroup var vision: VisionOptions

    @Option(help: "Instruction for the model (default: transcribe the page as Markdown).")
    var prompt: String?

    @Option(help: "Seconds a page may take; 0 means no limit.")
    var timeout: Double = 120

    @Flag(help: "Print one JSON object per page.")
    var json = false

    func validate() throws {
        if timeout < 0 { throw ValidationError("--timeout cannot be negative") }
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
            // Render page n+1 while page n is read: at most two pages exist at once.
            var next: Task<Data, Error>? = Task { try await pages.image(1) }
            for page in 1...pages.count {
                guard let current = next else { break }
                next = page < pages.count ? Task { try await pages.image(page + 1) } : nil
                let start = Date()
                let outcome: Result<VisionResult, Error>
                do {
                    let image = try await current.value
                    outcome = .success(try await worker.visionOCRResult(image: image, prompt: prompt, maxTokens: vision.maxTokens))
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

    private func report(file: String, page: Int, pages: Int, outcome: Result<VisionResult, Error>, seconds: Double) {
        let label = pages > 1 ? "\(file) page \(page)/\(pages)" : file
        switch outcome {
        case .success(let result):
            printError(String(format: "%@: %d tokens in %.1f s", label, result.generatedTokens, seconds))
            if json {
                printJSON(["file": file, "page": page, "pages": pages, "text": result.text,
                           "promptTokens": result.promptTokens, "generatedTokens": result.generatedTokens, "seconds": seconds])
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
