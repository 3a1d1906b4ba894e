import Foundation
import GGUF
import Testing
import WorkerBeeTestSupport
import WorkerBeeWire

@testable import WorkerBeeEngine

@Suite(.serialized, .timeLimit(.minutes(10))) struct EmbeddingModelTests {
    @Test func f16DefaultModelReproducesTheReferenceVectors() throws {
        let model = try EmbeddingModel(url: TestModels.defaultModel, options: .init(threads: 2))
        let references = try TestModels.references()
        let result = try model.embed(references.map(\.text))
        for (reference, vector) in zip(references, result.vectors) {
            let similarity = cosineSimilarity(reference.embedding, vector)
            #expect(similarity >= 0.9999, "\(reference.text): cosine \(similarity)")
        }
        #expect(result.tokenCounts == references.map(\.tokens))
    }

    @Test func f32ConversionReproducesTheReferenceVectors() throws {
        let model = try EmbeddingModel(url: TestModels.f32Model.get(), options: .init(threads: 2))
        let references = try TestModels.references()
        let result = try model.embed(references.map(\.text))
        for (reference, vector) in zip(references, result.vectors) {
            let similarity = cosineSimilarity(reference.embedding, vector)
            #expect(similarity >= 0.9999, "\(reference.text): cosine \(similarity)")
        }
    }

    @Test func batchedTextsGetTheSameVectorsAsOneAtATime() throws {
        let model = try EmbeddingModel(url: TestModels.defaultModel, options: .init(threads: 2, batchTokens: 64))
        let texts = (0..<40).map { "text number \($0) " + String(repeating: "word ", count: $0 % 13) }
        let batched = try model.embed(texts).vectors
        for (text, vector) in zip(texts, batched) {
            let single = try model.embed([text]).vectors[0]
            #expect(cosineSimilarity(single, vector) > 0.99999)
        }
    }

    @Test func vectorsAreUnitLengthByDefaultAndRawWhenAsked() throws {
        let model = try EmbeddingModel(url: TestModels.defaultModel, options: .init(threads: 2))
        let normalized = try model.embed(["unit length"]).vectors[0]
        let raw = try model.embed(["unit length"], normalize: false).vectors[0]
        let norm = { (v: [Float]) in v.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot() }
        #expect(abs(norm(normalized) - 1) < 1e-5)
        #expect(abs(norm(raw) - 1) > 1e-3)
        #expect(cosineSimilarity(normalized, raw) > 0.99999)
    }

    @Test func textLongerThanTheContextIsTruncatedAndSaysSo() throws {
        let model = try EmbeddingModel(url: TestModels.defaultModel, options: .init(threads: 2, contextSize: 32))
        let result = try model.embed([String(repeating: "many words here ", count: 40), "short"])
        #expect(result.truncated == [true, false])
        #expect(result.tokenCounts[0] == 32)
        #expect(result.vectors[0].count == 384)
    }

    @Test func emptyListReturnsNothing() throws {
        let model = try EmbeddingModel(url: TestModels.defaultModel, options: .init(threads: 1))
        let result = try model.embed([])
        #expect(result.count == 0)
        #expect(result.values.isEmpty)
    }

    @Test func abortRaisedWhileLlamaCppRunsStopsItThroughTheAbortCallback() throws {
        let model = try EmbeddingModel(url: TestModels.defaultModel, options: .init(threads: 2))
        let signal = AbortSignal()
        var decodes = 0
        // Raise the flag after the engine's own check, right as the second llama.cpp call
        // starts: only llama.cpp's abort callback can stop that call.
        model.beforeDecode = { count in
            decodes = count + 1
            if count == 1 { signal.raise() }
        }
        let texts = (0..<200).map { "text number \($0) that takes a few tokens" }
        do {
            _ = try model.embed(texts, abort: signal)
            Issue.record("an aborted run returned")
        } catch {
            #expect(error.code == .cancelled)
        }
        #expect(decodes == 2, "the run stopped at the call the flag was raised in")
        #expect(model.lastDecodeStatus == 2, "llama.cpp reported the call as aborted (status 2), so its callback saw the flag")
    }

    @Test func abortRaisedBeforeTheRunStopsItWithoutCallingLlamaCpp() throws {
        let model = try EmbeddingModel(url: TestModels.defaultModel, options: .init(threads: 2))
        let signal = AbortSignal()
        signal.raise()
        var decodes = 0
        model.beforeDecode = { _ in decodes += 1 }
        #expect(throws: EngineError(.cancelled, "cancelled")) { try model.embed(["anything"], abort: signal) }
        #expect(decodes == 0)
    }

    @Test func converterOutputLoadsInLlamaCpp() throws {
        let directory = try TestModels.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try TinyModels.writeSentenceTransformersBERT(to: directory.appendingPathComponent("tiny"))
        let url = directory.appendingPathComponent("tiny.gguf")
        try SentenceTransformersConverter.convert(directory: directory.appendingPathComponent("tiny"), to: url)
        let model = try EmbeddingModel(url: url, options: .init(threads: 1))
        #expect(model.dimension == 32)
        let result = try model.embed(["hello world", "the worker bees"])
        #expect(result.tokenCounts == [4, 6])  // [CLS] the worker bee ##s [SEP]
        let finite = result.values.allSatisfy { $0.isFinite }
        #expect(finite)
    }

    @Test func modelWithoutPoolingCannotEmbed() throws {
        let directory = try TestModels.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let original = try GGUFFile(contentsOf: TestModels.defaultModel)
        var writer = GGUFWriter()
        for (key, value) in original.metadata where key != "bert.pooling_type" { writer.set(key, value) }
        for tensor in original.tensors {
            try writer.addTensor(name: tensor.name, dimensions: tensor.dimensions, type: tensor.type, data: original.bytes(of: tensor))
        }
        let url = directory.appendingPathComponent("no-pooling.gguf")
        try writer.write(to: url)
        do {
            _ = try EmbeddingModel(url: url)
            Issue.record("a model without pooling loaded for embedding")
        } catch {
            #expect(error.code == .cannotEmbed)
            #expect(error.message.contains("pooling"))
        }
    }

    @Test func missingFileIsModelNotFound() {
        do {
            _ = try EmbeddingModel(url: URL(fileURLWithPath: "/nonexistent/model.gguf"))
            Issue.record("a missing model loaded")
        } catch {
            #expect(error.code == .modelNotFound)
        }
    }

    @Test func fileThatIsNotGGUFIsInvalidModel() throws {
        let directory = try TestModels.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("fake.gguf")
        try Data("definitely not a model".utf8).write(to: url)
        do {
            _ = try EmbeddingModel(url: url)
            Issue.record("a text file loaded as a model")
        } catch {
            #expect(error.code == .invalidModel)
        }
    }

    @Test func aTruncatedModelIsInvalidWithTheReadersReason() throws {
        let directory = try TestModels.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("half.gguf")
        let whole = try Data(contentsOf: TestModels.defaultModel)
        try whole.prefix(whole.count / 2).write(to: url)
        do {
            _ = try EmbeddingModel(url: url)
            Issue.record("half a model loaded")
        } catch {
            #expect(error.code == .invalidModel)
            #expect(error.message.contains("truncated"), "\(error.message)")
        }
    }
}
