import Foundation
import GGUF
import Testing
import WorkerBeeTestSupport
import WorkerBeeWire

@testable import WorkerBeeEngine
import WorkerBeeFixtures

/// The generated tiny vision model, written once per test run.
enum TinyVision {
    static let files: Result<TinyModels.VisionModelFiles, Error> = Result {
        try TinyModels.writeVisionModel(to: FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-tiny-vision-\(getpid())"))
    }

    static func page(seed: Int = 0) -> [UInt8] {
        Array(TinyImages.png(width: 64, height: 48) { x, y in (UInt8((x * 4 + seed) & 0xFF), UInt8((y * 5) & 0xFF), UInt8(((x ^ y) * 3) & 0xFF)) })
    }
}

@Suite(.serialized, .timeLimit(.minutes(10))) struct VisionModelTests {
    func model() throws -> VisionModel {
        let files = try TinyVision.files.get()
        return try VisionModel(model: files.model, projector: files.projector, options: .init(threads: 2, contextSize: 1024))
    }

    @Test func imageBecomesImageTokensInThePrompt() throws {
        let vision = try model()
        let result = try vision.read(image: TinyVision.page(), instruction: "read", maxTokens: 4)
        // 16 patches from a 32x32 image in 8x8 patches, plus the templated text.
        #expect(result.promptTokens > 16)
        #expect(result.generatedTokens == 4, "the tiny model never emits an end token, so it generates exactly the cap")
        #expect(vision.projectorType == "mlp")
    }

    @Test func generationIsDeterministic() throws {
        let vision = try model()
        let first = try vision.read(image: TinyVision.page(), maxTokens: 24)
        let second = try vision.read(image: TinyVision.page(), maxTokens: 24)
        #expect(first == second)
        #expect(first.generatedTokens > 0)
    }

    @Test func promptUsesTheModelsChatTemplateWithTheMarkerFirst() throws {
        let prompt = try model().prompt(for: "Read this.")
        #expect(prompt.hasPrefix("<|im_start|>user\n<__media__>\nRead this.<|im_end|>"))
        #expect(prompt.hasSuffix("<|im_start|>assistant\n"))
    }

    @Test func abortRaisedWhileGeneratingStopsItThroughTheAbortCallback() throws {
        let vision = try model()
        let signal = AbortSignal()
        var generatedWhenStopped = -1
        vision.beforeDecode = { generated in
            generatedWhenStopped = generated
            if generated == 3 { signal.raise() }
        }
        do {
            _ = try vision.read(image: TinyVision.page(), maxTokens: 50, abort: signal)
            Issue.record("an aborted read returned")
        } catch {
            #expect(error.code == .cancelled)
        }
        #expect(generatedWhenStopped == 3)
        #expect(vision.lastDecodeStatus == 2, "llama.cpp reported the call as aborted (status 2), so its callback saw the flag")
    }

    @Test(arguments: [
        ("zero bytes", [UInt8]()),
        ("not an image", Array("%PDF-1.4 not an image".utf8)),
        ("huge", Array(TinyImages.pngHeaderOnly(width: 20000, height: 20000))),
        ("truncated png", Array(TinyImages.png(width: 16, height: 16) { _, _ in (1, 2, 3) }.prefix(60))),
    ])
    func badImagesAreClearErrors(name: String, bytes: [UInt8]) throws {
        let vision = try model()
        do {
            _ = try vision.read(image: bytes, maxTokens: 2)
            Issue.record("\(name) was read")
        } catch {
            #expect(error.code == .invalidInput, "\(name): \(error)")
        }
        #expect(try vision.read(image: TinyVision.page(), maxTokens: 2).generatedTokens == 2)
    }

    @Test func projectorForAnotherTextModelIsRefused() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-mismatch-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = try TinyModels.writeVisionModel(to: directory, projectorOutput: 48)
        do {
            _ = try VisionModel(model: files.model, projector: files.projector)
            Issue.record("a 48-wide projector loaded for a 64-wide model")
        } catch {
            #expect(error.code == .invalidModel)
        }
    }

    @Test func corruptProjectorIsRefused() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-corrupt-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = try TinyModels.writeVisionModel(to: directory)
        let bytes = try Data(contentsOf: files.projector)
        try bytes.prefix(bytes.count / 2).write(to: files.projector)
        do {
            _ = try VisionModel(model: files.model, projector: files.projector)
            Issue.record("a truncated projector loaded")
        } catch {
            #expect(error.code == .invalidModel)
        }
    }
}
