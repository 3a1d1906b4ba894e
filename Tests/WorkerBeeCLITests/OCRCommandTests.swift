import Foundation
import GGUF
import Testing
import WorkerBee
import WorkerBeeTestSupport
import WorkerBeeWire
import WorkerBeeFixtures
import WorkerBeeDocuments

@Suite(.serialized, .timeLimit(.minutes(10))) struct OCRCommandTests {
    @Test func threePagePDFGivesThreePagesWithProgress() async throws {
        let box = try VisionSandbox()
        defer { box.sandbox.remove() }
        let pdf = box.sandbox.directory.appendingPathComponent("three.pdf")
        try GeneratedPDF.make(pages: ["Page one", "Page two", "Page three"]).write(to: pdf)
        let run = try await CommandRun.run(["ocr", pdf.path, "--model", "tiny-vision", "--models-dir", box.models.path, "--max-tokens", "8", "--json", "--force-ocr"])
        #expect(run.status == 0, "\(run.stderr)")
        let pages = run.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(pages.map { $0["page"] as? Int } == [1, 2, 3])
        #expect(pages.allSatisfy { ($0["generatedTokens"] as? Int) == 8 })
        #expect(run.stderr.contains("page 3/3"))
    }

    @Test func aFileThatFailsIsReportedWhileTheOthersArePrinted() async throws {
        let box = try VisionSandbox()
        defer { box.sandbox.remove() }
        let fake = box.sandbox.directory.appendingPathComponent("fake.pdf")
        try Data("this is not a PDF".utf8).write(to: fake)
        let image = box.sandbox.directory.appendingPathComponent("page.png")
        try VisionSandbox.page().write(to: image)
        let run = try await CommandRun.run(["ocr", fake.path, image.path, "--model", "tiny-vision", "--models-dir", box.models.path, "--max-tokens", "4"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("not a readable PDF"))
        #expect(run.stderr.contains("1 of 2 page(s) failed"))
        #expect(run.stdout.contains("==> \(image.path) <=="))
    }

    @Test func theVisionEngineWithoutAModelSaysHowToGetOne() async throws {
        let run = try await CommandRun.run(["ocr", "/tmp/whatever.png", "--engine", "vision"], environment: ["WORKERBEE_VISION_MODEL": ""])
        #expect(run.status != 0)
        #expect(run.stderr.contains("--model"))
    }

    @Test func withoutAVisionModelAPageImageIsReadByTesseract() async throws {
        let box = try WorkerSandbox()
        defer { box.remove() }
        let scratch = box.directory.appendingPathComponent("scratch")
        let image = box.directory.appendingPathComponent("scan.ppm")
        try await DocumentPages.open(GeneratedPDF.make(pages: ["Quick fox 2024"]), dpi: 300, scratch: scratch).image(1).write(to: image)
        let run = try await CommandRun.run(["ocr", image.path, "--json"], environment: ["WORKERBEE_VISION_MODEL": ""])
        #expect(run.status == 0, "\(run.stderr)")
        let page = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(page["source"] as? String == "tesseract")
        #expect((page["text"] as? String)?.trimmingCharacters(in: .whitespacesAndNewlines) == "Quick fox 2024")
        #expect((page["confidence"] as? Int ?? 0) > 50)
    }

    @Test func aPDFPageWithATextLayerIsReadFromItUnlessOCRIsForced() async throws {
        let box = try WorkerSandbox()
        defer { box.remove() }
        let pdf = box.directory.appendingPathComponent("text.pdf")
        try GeneratedPDF.make(pages: ["Invoice Total", "Paid in full"]).write(to: pdf)
        let run = try await CommandRun.run(["ocr", pdf.path, "--json"], environment: ["WORKERBEE_VISION_MODEL": ""])
        #expect(run.status == 0, "\(run.stderr)")
        let pages = run.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(pages.map { $0["source"] as? String } == ["text-layer", "text-layer"])
        #expect(pages.map { $0["text"] as? String } == ["Invoice Total", "Paid in full"])
        let forced = try await CommandRun.run(["ocr", pdf.path, "--json", "--force-ocr", "--dpi", "300"], environment: ["WORKERBEE_VISION_MODEL": ""])
        #expect(forced.status == 0, "\(forced.stderr)")
        let read = forced.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(read.map { $0["source"] as? String } == ["tesseract", "tesseract"])
        // Tesseract's spacing of large type varies ("P aid"); the letters must be right.
        #expect(read.map { ($0["text"] as? String)?.filter { !$0.isWhitespace } } == ["InvoiceTotal", "Paidinfull"])
    }

    @Test func pagesOfSeveralFilesAreReadInParallelAndPrintedInOrder() async throws {
        let box = try WorkerSandbox()
        defer { box.remove() }
        let words = ["Apple", "Banana", "Cherry", "Damson", "Elder"]
        var paths: [String] = []
        for (index, word) in words.enumerated() {
            let image = box.directory.appendingPathComponent("scan-\(index).ppm")
            try await DocumentPages.open(GeneratedPDF.make(pages: [word]), dpi: 200, scratch: box.directory.appendingPathComponent("scratch-\(index)")).image(1).write(to: image)
            paths.append(image.path)
        }
        let empty = box.directory.appendingPathComponent("empty.pdf")
        try GeneratedPDF.make(pages: []).write(to: empty)
        let run = try await CommandRun.run(["ocr"] + paths + [empty.path, "--json", "--workers", "2"], environment: ["WORKERBEE_VISION_MODEL": ""])
        #expect(run.status != 0, "the empty PDF must count as a failed page")
        let lines = run.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(lines.count == 6)
        #expect(lines.prefix(5).map { ($0["text"] as? String)?.trimmingCharacters(in: .whitespacesAndNewlines) } == words)
        #expect(lines.prefix(5).map { $0["file"] as? String } == paths)
        #expect((lines.last?["error"] as? String)?.contains("has no pages") == true, "\(run.stdout)")
        #expect(run.stderr.contains("1 of 6 page(s) failed"))
    }

    /// Runs the evaluation benchmark on `condition` at 300 DPI and returns its JSON row.
    private func evaluate(_ condition: String) async throws -> [String: Any] {
        let run = try await CommandRun.run(["bench", "ocr", "--eval", "--conditions", condition, "--eval-dpi", "300", "--eval-pages", "1", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
    }

    @Test func theEvaluationReadsCleanPagesWithAtMostOnePercentCharacterErrors() async throws {
        let row = try await evaluate("clean")
        #expect((row["characters"] as? Int ?? 0) > 500)
        #expect((row["cer"] as? Double ?? 1) <= 0.01, "\(row)")
    }

    @Test func twoColumnsAreReadOneAfterTheOther() async throws {
        // Read as one block (Tesseract's library default), the lines of both columns interleave
        // and the error rate is about 70%.
        let row = try await evaluate("two-columns")
        #expect((row["cer"] as? Double ?? 1) <= 0.02, "\(row)")
    }

    @Test func aPageThatCrashesTesseractEveryTimeIsReportedAndTheOthersAreRead() async throws {
        let box = try WorkerSandbox()
        defer { box.remove() }
        var paths: [String] = []
        var poisonBytes = 0
        for (index, (word, dpi)) in [("Apple", 200), ("Banana", 150), ("Cherry", 200)].enumerated() {
            let image = box.directory.appendingPathComponent("scan-\(index).pgm")
            let data = try await DocumentPages.open(GeneratedPDF.make(pages: [word]), dpi: dpi, grayscale: true, scratch: box.directory.appendingPathComponent("scratch-\(index)")).image(1)
            try data.write(to: image)
            if word == "Banana" { poisonBytes = data.count }
            paths.append(image.path)
        }
        let run = try await CommandRun.run(
            ["ocr"] + paths + ["--json", "--workers", "2"],
            environment: ["WORKERBEE_VISION_MODEL": "", "WORKERBEE_FAULT": "recognize-bytes=\(poisonBytes):segv"])
        #expect(run.status == 1)
        let pages = run.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        try #require(pages.map { ($0["text"] as? String)?.trimmingCharacters(in: .whitespacesAndNewlines) } == ["Apple", nil, "Cherry"])
        #expect((pages[1]["error"] as? String)?.contains("SIGSEGV") == true, "\(pages[1])")
        #expect(run.stderr.contains("1 of 3 page(s) failed"))
    }

    @Test func emptyEncryptedAndPagelessFilesAreEachExplainedAndTheRestRead() async throws {
        let box = try WorkerSandbox()
        defer { box.remove() }
        let empty = box.directory.appendingPathComponent("empty.png")
        try Data().write(to: empty)
        let encrypted = box.directory.appendingPathComponent("locked.pdf")
        try GeneratedPDF.encrypted().write(to: encrypted)
        let pageless = box.directory.appendingPathComponent("pageless.pdf")
        try GeneratedPDF.empty().write(to: pageless)
        let good = box.directory.appendingPathComponent("good.pdf")
        try GeneratedPDF.make(pages: ["Still read"]).write(to: good)
        let run = try await CommandRun.run(["ocr", empty.path, encrypted.path, pageless.path, good.path, "--json"], environment: ["WORKERBEE_VISION_MODEL": ""])
        #expect(run.status == 1)
        let pages = run.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        try #require(pages.count == 4)
        let errors = pages.map { $0["error"] as? String ?? "" }
        #expect(errors[0].contains("empty"), "\(errors[0])")
        #expect(errors[1].contains("encrypted with a password"), "\(errors[1])")
        #expect(errors[2].contains("has no pages"), "\(errors[2])")
        #expect(pages[3]["text"] as? String == "Still read")
        #expect(run.stderr.contains("3 of 4 page(s) failed"))
    }
}
