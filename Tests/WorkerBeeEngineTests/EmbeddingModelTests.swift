import Foundation
import GGUF
import Testing
import WorkerBeeTestSupport
import WorkerBeeWire

@testable import WorkerBeeEngine
import WorkerBeeFixtures

@Suite(.serialized, .timeLimit(.minutes(10))) struct EmbeddingModelTests {
    /// The vectors of every weight type `--type auto` can choose match all-MiniLM-L6-v2's own
    /// (sentence-transformers, F32, computed without llama.cpp). The bound 0.9999 is the
    /// project's promise for a converted model; measured minima over the 17 texts: F32 and F16
    /// 0.99999, BF16 0.99998.
    @Test(arguments: SentenceTransformersConverter.OutputType.allCases)
    func everyWeightTypeReproducesTheReferenceVectors(type: SentenceTransformersConverter.OutputType) throws {
        let model = try EmbeddingModel(url: DefaultModelWeights.url(type), options: .init(threads: 2))
        let references = try TestModels.references()
        let result = try model.embed(references.map(\.text))
        for (reference, vector) in zip(references, result.vectors) {
            let similarity = cosineSimilarity(reference.embedding, vector)
            #expect(similarity >= 0.9999, "\(type) \(reference.text): cosine \(similarity)")
        }
        #expect(result.tokenCounts == references.map(\.tokens))
    }

    /// Short and long texts (the long ones over the 64 query rows where llama.cpp's flash
    /// attention takes its tiled kernel), embedded all at once, in other batchings and orders,
    /// alone, and with two threads instead of one: every vector is the same bit for bit.
    @Test(arguments: SentenceTransformersConverter.OutputType.allCases)
    func aTextGetsTheSameVectorBitForBitWhateverItIsBatchedWith(type: SentenceTransformersConverter.OutputType) throws {
        let url = try DefaultModelWeights.url(type)
        let model = try EmbeddingModel(url: url, options: .init(threads: 1))
        #expect(model.batchInvariant && !model.packsUnderTiledAttention, "the setup's llama.cpp makes invariance free")
        let texts = Self.invarianceTexts
        let together = try model.embed(texts).vectors
        try Self.expectSameBits(together, texts: texts, model: model, label: "\(type), one thread")
        let twoThreads = try EmbeddingModel(url: url, options: .init(threads: 2, batchTokens: 512))
        try Self.expectSameBits(together, texts: texts, model: twoThreads, label: "\(type), two threads, 512-token micro-batches")
    }

    /// With a llama.cpp whose flash attention does not follow sequences, invariance comes from
    /// small micro-batches and long texts alone; forced here on the setup's llama.cpp.
    @Test func smallMicroBatchesKeepVectorsBatchInvariantWithoutThePatchedKernel() throws {
        var options = EmbeddingModel.Options(threads: 1, batchInvariant: true)
        options.packsUnderTiledAttention = true
        let model = try EmbeddingModel(url: DefaultModelWeights.url(.bf16), options: options)
        #expect(model.packsUnderTiledAttention)
        let texts = Self.invarianceTexts
        try Self.expectSameBits(try model.embed(texts).vectors, texts: texts, model: model, label: "small micro-batches")
    }

    /// Without invariance, packing changes the last bits of some vectors (what the patched
    /// kernel and host-side pooling remove): the invariance tests above can fail.
    @Test func withoutInvarianceSomeVectorsDependOnTheirBatch() throws {
        let model = try EmbeddingModel(url: DefaultModelWeights.url(.bf16), options: .init(threads: 1, batchInvariant: false))
        let texts = Self.invarianceTexts
        let together = try model.embed(texts).vectors
        var differing = 0
        for (index, text) in texts.enumerated() where try model.embed([text]).vectors[0] != together[index] { differing += 1 }
        #expect(differing > 0, "no vector changed with its batch, so the invariance tests prove nothing")
    }

    static let invarianceTexts: [String] = (0..<24).map { index in
        let words = ["search", "index", "vector", "worker", "crash", "page", "model", "token"]
        let length = [3, 9, 17, 40, 70, 120][index % 6]
        return (0..<length).map { words[($0 * 7 + index) % words.count] }.joined(separator: " ")
    }

    /// Embeds `texts` alone, in shuffled groups of 3 and 7, and in reverse, and expects `expected` bit for bit.
    static func expectSameBits(_ expected: [[Float]], texts: [String], model: EmbeddingModel, label: String) throws {
        var generator = TinyModels.SeededGenerator(seed: 11)
        let shuffled = Array(texts.indices).shuffled(using: &generator)
        var got: [[Int: [Float]]] = [[:], [:], [:]]
        for index in texts.indices { got[0][index] = try model.embed([texts[index]]).vectors[0] }
        for (slot, size) in [(1, 3), (2, 7)] {
            for start in stride(from: 0, to: shuffled.count, by: size) {
                let group = Array(shuffled[start..<min(start + size, shuffled.count)])
                for (index, vector) in zip(group, try model.embed(group.map { texts[$0] }).vectors) { got[slot][index] = vector }
            }
        }
        let reversed = try model.embed(texts.reversed()).vectors.reversed()
        for (index, vector) in zip(texts.indices, reversed) { #expect(vector.map(\.bitPattern) == expected[index].map(\.bitPattern), "\(label): text \(index) in reverse order") }
        for (slot, name) in [(0, "alone"), (1, "in groups of 3"), (2, "in groups of 7")] {
            for index in texts.indices {
                #expect(got[slot][index]!.map(\.bitPattern) == expected[index].map(\.bitPattern), "\(label): text \(index) \(name)")
            }
        }
    }

    @Test func vectorsAreUnitLengthByDefaultAndRawWhenAsked() throws {
        let model = try EmbeddingModel(url: TestModels.defaultModel, options: .init(threads: 2))
        let normalized = try model.embed(["unit length"]).vectors[0]
        let raw = try model.embed(["unit length"], normalize: false).vectors[0]
        let norm = { (v: [Float]) in v.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot() }
        #expect(abs(norm(normalized) - 1) < 1e-5)
        #expect(abs(norm(raw) - 1) > 1e-3)
        #expect(cosineSimilarity(normalized, raw) > 0.99999, "the same direction (up to float rounding of the scale)")
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
