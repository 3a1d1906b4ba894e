import Foundation
import GGUF
import Testing
import WorkerBeeTestSupport
import WorkerBeeWire

@testable import WorkerBee
import WorkerBeeFixtures
import WorkerBeeModels

@Suite(.serialized, .timeLimit(.minutes(10))) struct VisionWorkerTests {
    @Test func visionOCRRunsInTheWorkerAndIsDeterministic() async throws {
        let box = try VisionSandbox()
        defer { box.sandbox.remove() }
        let worker = WorkerProcess(configuration: box.configuration())
        let first = try await worker.readText(in: VisionSandbox.page(), engine: .vision(.init(maxTokens: 16)))
        let second = try await worker.readText(in: VisionSandbox.page(), engine: .vision(.init(maxTokens: 16)))
        #expect(first == second)
        #expect(first.generatedTokens == 16)
        #expect((first.promptTokens ?? 0) > 16)
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
            _ = try await worker.readText(in: VisionSandbox.page(), engine: .vision()).text  // ~16,000 tokens: many seconds
            Issue.record("a long generation beat a 1 s timeout")
        } catch let error as WorkerError {
            #expect(error.code == .timedOut)
        }
        #expect(kill(pid, 0) == -1 && errno == ESRCH)
        #expect(try await worker.readText(in: VisionSandbox.page(), engine: .vision(.init(maxTokens: 4))).generatedTokens == 4)
        await worker.stop()
    }

    @Test func cancellingAGenerationStopsItPromptlyAndKeepsTheWorker() async throws {
        let box = try VisionSandbox()
        defer { box.sandbox.remove() }
        let worker = WorkerProcess(configuration: box.configuration(longContext: true))
        _ = try await worker.readText(in: VisionSandbox.page(), engine: .vision(.init(maxTokens: 2)))
        let pid = await worker.pid
        var events = await worker.events().makeAsyncIterator()
        let request = Task { try await worker.readText(in: VisionSandbox.page(), engine: .vision()).text }
        guard case .sent(let id, _, _) = try #require(await events.next { $0.isSent() }) else { return }
        #expect(await box.sandbox.waitForLog("request \(id) started:"))
        request.cancel()
        await #expect(throws: CancellationError.self) { try await request.value }
        // A worker that did not honour the cancel would have been killed after the grace period.
        #expect(await worker.pid == pid)
        #expect(await box.sandbox.waitForLog("request \(id) failed: cancelled"), "the generation was stopped, not finished")
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
                _ = try await worker.readText(in: bytes, engine: .vision()).text
                Issue.record("\(bytes.count) bad bytes were read")
            } catch let error as WorkerError {
                #expect(error.code == .invalidInput)
            }
        }
        #expect(await worker.pid == pid)
        #expect(try await worker.readText(in: VisionSandbox.page(), engine: .vision(.init(maxTokens: 2))).generatedTokens == 2)
        await worker.stop()
    }

    @Test func aDifferentModelReloadsAndLoadModelUnloads() async throws {
        let box = try VisionSandbox()
        defer { box.sandbox.remove() }
        let worker = WorkerProcess(configuration: box.configuration())
        let a = try await worker.readText(in: VisionSandbox.page(), engine: .vision(.init(maxTokens: 12)))
        let b = try await worker.readText(in: VisionSandbox.page(), engine: .vision(.init(model: ModelReference("tiny-vision-b"), maxTokens: 12)))
        #expect(a.text != b.text)
        #expect(box.sandbox.log.components(separatedBy: "loaded vision model").count - 1 == 2)
        try await worker.unloadModel(kind: .vision)
        #expect(box.sandbox.log.contains("kind=vision model=(unload)"))
        try await worker.loadModel("tiny-vision-b", kind: .vision)
        #expect(box.sandbox.log.components(separatedBy: "loaded vision model").count - 1 == 3)
        let again = try await worker.readText(in: VisionSandbox.page(), engine: .vision(.init(model: ModelReference("tiny-vision-b"), maxTokens: 12)))
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
            _ = try await worker.readText(in: VisionSandbox.page(), engine: .vision(.init(model: ModelReference(lonely.appendingPathComponent("alone.gguf").path)))).text
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
        configuration.models.vision = nil
        let worker = WorkerProcess(configuration: configuration)
        do {
            _ = try await worker.readText(in: VisionSandbox.page(), engine: .vision()).text
            Issue.record("vision OCR ran without a vision model")
        } catch let error as WorkerError {
            #expect(error.code == .visionDisabled)
        }
        #expect(await worker.isAlive, "a disabled feature is a request failure, not a lost worker")
        await worker.stop()
    }
}
