import Foundation
import GGUF
import Testing
import WorkerBeeTestSupport
import WorkerBeeWire

@Suite(.serialized) struct OCRCommandTests {
    @Test func threePagePDFGivesThreePagesWithProgress() async throws {
        let box = try VisionSandbox()
        defer { box.sandbox.remove() }
        let pdf = box.sandbox.directory.appendingPathComponent("three.pdf")
        try TestPDF.make(pages: ["Page one", "Page two", "Page three"]).write(to: pdf)
        let run = try await CommandRun.run(["ocr", pdf.path, "--model", "tiny-vision", "--models-dir", box.models.path, "--max-tokens", "8", "--json"])
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

    @Test func ocrWithoutAModelSaysHowToGetOne() async throws {
        let run = try await CommandRun.run(["ocr", "/tmp/whatever.png"], environment: ["WORKERBEE_VISION_MODEL": ""])
        #expect(run.status != 0)
        #expect(run.stderr.contains("--model"))
    }
}
