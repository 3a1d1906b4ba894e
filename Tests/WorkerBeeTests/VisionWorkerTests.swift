import Foundation
import GGUF
import Testing
import WorkerBeeWire

@testable import WorkerBee

/// A models folder holding two generated tiny vision models (different seeds).
struct VisionSandbox {
    let sandbox: WorkerSandbox
    let models: URL

    init() throws {
        sandbox = try WorkerSandbox()
        models = sandbox.directory.appendingPathComponent("models")
        try TinyModels.writeVisionModel(to: models)
        let other = sandbox.directory.appendingPathComponent("other")
        let files = try TinyModels.writeVisionModel(to: other, seed: 99)
        try FileManager.default.moveItem(at: files.model, to: models.appendingPathComponent("tiny-vision-b.gguf"))
        try FileManager.default.moveItem(at: files.projector, to: models.appendingPathComponent("tiny-vision-b.mmproj.gguf"))
    }

    /// - Parameter longContext: a 16k context, so that an uncapped generation of the tiny model
    ///   (which never emits an end token) runs for many seconds even on a fast machine.
    func configuration(ocrTimeout: Duration? = .seconds(120), projector: String = "", longContext: Bool = false) -> WorkerConfiguration {
        var configuration = sandbox.configuration()
        if longContext { configuration.contextSize = 16384 }
        configuration.modelsDirectory = models
        configuration.visionModel = "tiny-vision"
        configuration.visionProjector = projector
        configuration.ocrTimeout = ocrTimeout
        return configuration
    }

    static func page(_ shade: UInt8 = 0) -> Data {
        TinyImages.png(width: 40, height: 40) { x, y in (UInt8(x * 6) &+ shade, UInt8(y * 6), 128) }
    }
}

@Suite(.serialized) struct VisionWorkerTests {
    @Test func visionOCRRunsInTheWorkerAndIsDeterministic() async throws {
        let box = try VisionSandbox()
        defer { box.sandbox.remove() }
        let worker = WorkerProcess(configuration: box.configuration())
        let first = try await worker.visionOCRResult(image: VisionSandbox.page(), maxTokens: 16)
        let second = try await worker.visionOCRResult(image: VisionSandbox.page(), maxTokens: 16)
        #expect(first == second)
        #expect(first.generatedTokens == 16)
        #expect(first.promptTokens > 16)
        #expect(box.sandbox.log.contains("projector"))
        await worker.stop()
    }

    @Test func timeoutKillsAGenerationThatRunsTooLong() async throws {
        let box = try VisionSandbox()
        defer { box.sandbox.remove() }
        let worker = WorkerProcess(configuration: box.configuration(ocrTimeout: .seconds(1), longContext: true))
        try await worker.loadModel("tiny-vision", kind: .vision)
        let pid = try #require(await worker.pid)
        do {
            _ = try await worker.visionOCR(png: VisionSandbox.page())  // ~16,000 tokens: many seconds
            Issue.record("a long generation beat a 1 s timeout")
        } catch let error as WorkerError {
            #expect(error.code == .timedOut)
        }
        #expect(kill(pid, 0) == -1 && errno == ESRCH)
        #expect(try await worker.visionOCRResult(image: VisionSandbox.page(), maxTokens: 4).generatedTokens == 4)
        await worker.stop()
    }

    @Test func cancellingAGenerationStopsItPromptlyAndKeepsTheWorker() async throws {
        let box = try VisionSandbox()
        defer { box.sandbox.remove() }
        let worker = WorkerProcess(configuration: box.configuration(longContext: true))
        _ = try await worker.visionOCRResult(image: VisionSandbox.page(), maxTokens: 2)
        let pid = await worker.pid
        let request = Task { try await worker.visionOCR(png: VisionSandbox.page()) }
        try await Task.sleep(for: .milliseconds(500))
        let started = ContinuousClock.now
        request.cancel()
        await #expect(throws: CancellationError.self) { try await request.value }
        #expect(ContinuousClock.now - started < .seconds(3))
        #expect(await worker.pid == pid)
        await worker.stop()
    }

    @Test func badImagesAreClearErrorsAndTheWorkerStaysUp() async throws {
        let box = try VisionSandbox()
        defer { box.sandbox.remove() }
        let worker = WorkerProcess(configuration: box.configuration())
        try await worker.start()
        let pid = await worker.pid
        for bytes in [Data(), Data("%PDF-1.7".utf8), TinyImages.pngHeaderOnly(width: 20000, height: 20000)] {
            do {
                _ = try await worker.visionOCR(png: bytes)
                Issue.record("\(bytes.count) bad bytes were read")
            } catch let error as WorkerError {
                #expect(error.code == .invalidInput)
            }
        }
        #expect(await worker.pid == pid)
        #expect(try await worker.visionOCRResult(image: VisionSandbox.page(), maxTokens: 2).generatedTokens == 2)
        await worker.stop()
    }

    @Test func aDifferentModelReloadsAndLoadModelUnloads() async throws {
        let box = try VisionSandbox()
        defer { box.sandbox.remove() }
        let worker = WorkerProcess(configuration: box.configuration())
        let a = try await worker.visionOCRResult(image: VisionSandbox.page(), maxTokens: 12)
        let b = try await worker.visionOCRResult(image: VisionSandbox.page(), model: "tiny-vision-b", maxTokens: 12)
        #expect(a.text != b.text)
        #expect(box.sandbox.log.components(separatedBy: "loaded vision model").count - 1 == 2)
        try await worker.loadModel(nil, kind: .vision)
        #expect(box.sandbox.log.contains("kind=vision model=(unload)"))
        try await worker.loadModel("tiny-vision-b", kind: .vision)
        #expect(box.sandbox.log.components(separatedBy: "loaded vision model").count - 1 == 3)
        let again = try await worker.visionOCRResult(image: VisionSandbox.page(), model: "tiny-vision-b", maxTokens: 12)
        #expect(again == b)
        #expect(box.sandbox.log.components(separatedBy: "loaded vision model").count - 1 == 3, "the loaded model was reused")
        await worker.stop()
    }

    @Test func missingProjectorSaysWhereItLooked() async throws {
        let box = try VisionSandbox()
        defer { box.sandbox.remove() }
        let lonely = box.sandbox.directory.appendingPathComponent("lonely")
        try FileManager.default.createDirectory(at: lonely, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: box.models.appendingPathComponent("tiny-vision.gguf"), to: lonely.appendingPathComponent("alone.gguf"))
        let worker = WorkerProcess(configuration: box.configuration())
        do {
            _ = try await worker.visionOCR(png: VisionSandbox.page(), model: lonely.appendingPathComponent("alone.gguf").path)
            Issue.record("a model without a projector ran")
        } catch let error as WorkerError {
            #expect(error.code == .projectorNotFound)
            #expect(error.message.contains(lonely.path))
        }
        await worker.stop()
    }

    @Test func projectorInAHuggingFaceSnapshotIsFound() throws {
        let box = try VisionSandbox()
        defer { box.sandbox.remove() }
        let repo = box.sandbox.directory.appendingPathComponent("hub/models--x--tiny")
        let blobs = repo.appendingPathComponent("blobs"), snapshot = repo.appendingPathComponent("snapshots/abc123")
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: snapshot, withIntermediateDirectories: true)
        let model = blobs.appendingPathComponent("9f8e7d")
        try FileManager.default.copyItem(at: box.models.appendingPathComponent("tiny-vision.gguf"), to: model)
        try FileManager.default.copyItem(at: box.models.appendingPathComponent("mmproj-tiny-vision.gguf"), to: snapshot.appendingPathComponent("mmproj-f16.gguf"))
        #expect(try ProjectorLocator.projector(for: model) == snapshot.appendingPathComponent("mmproj-f16.gguf"))
    }

    @Test func noVisionModelConfiguredIsDisabled() async throws {
        let box = try VisionSandbox()
        defer { box.sandbox.remove() }
        var configuration = box.configuration()
        configuration.visionModel = ""
        let worker = WorkerProcess(configuration: configuration)
        await #expect(throws: WorkerError.self) { try await worker.visionOCR(png: VisionSandbox.page()) }
        await worker.stop()
    }
}

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
