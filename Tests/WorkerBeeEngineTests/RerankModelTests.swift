import Foundation
import GGUF
import Testing
import WorkerBeeFixtures
import WorkerBeeTestSupport
import WorkerBeeWire

@testable import WorkerBeeEngine

/// A BERT cross-encoder imported from its Hugging Face folder scores pairs as the original model
/// does: its pooler and classifier, and the document in segment 1.
@Suite(.serialized, .timeLimit(.minutes(10))) struct RerankModelTests {
    static let pairs: [(query: String, document: String)] = [
        ("hello world", "the worker bee embeds a text"),
        ("hello world", "hello world !"),
        ("a vector", "the bees embed vectors , the worker embeds text ."),
        ("embed the text ?", "a"),
        ("worker bees", "hello"),
    ]

    /// Writes a generated cross-encoder folder and its GGUF conversion.
    static func crossEncoder(labels: Int = 1, type: SentenceTransformersConverter.OutputType = .f32) throws -> (folder: URL, gguf: URL) {
        let directory = try TestModels.temporaryDirectory()
        let folder = directory.appendingPathComponent("cross-encoder")
        try TinyModels.writeCrossEncoderBERT(to: folder, labels: labels)
        let gguf = directory.appendingPathComponent("cross-encoder.gguf")
        try SentenceTransformersConverter.convert(directory: folder, to: gguf, type: type)
        return (folder, gguf)
    }

    @Test(arguments: [1, 3])
    func anImportedCrossEncoderGivesTheOriginalModelsLogits(labels: Int) async throws {
        let (folder, gguf) = try Self.crossEncoder(labels: labels)
        let model = try EmbeddingModel(url: gguf, options: .init(threads: 2))
        #expect(model.isReranker && model.dimension == labels)
        let result = try model.rerank(queries: Self.pairs.map(\.query), documents: Self.pairs.map(\.document))
        let reference = try await CrossEncoderReference.compute(folder: folder, pairs: Self.pairs)
        #expect(result.tokenCounts == reference.tokens.map(\.count))
        #expect(reference.types.allSatisfy { $0.contains(1) }, "the reference puts the document in segment 1")
        for (index, expected) in reference.logits.enumerated() {
            let scores = result.vector(at: index)
            for (got, want) in zip(scores, expected) {
                #expect(abs(got - want) <= 1e-3, "pair \(index): \(scores) against the reference's \(expected)")
            }
        }
        #expect(!result.truncated.contains(true))
    }

    @Test func aPairOverTheContextIsCutOnTheDocumentSideAndReported() async throws {
        let (folder, gguf) = try Self.crossEncoder()
        let model = try EmbeddingModel(url: gguf, options: .init(threads: 2, contextSize: 24))
        let long = Array(repeating: "the worker bee embeds a text .", count: 10).joined(separator: " ")
        let pairs: [(query: String, document: String)] = [("hello world", long), ("hello world", "a text")]
        let result = try model.rerank(queries: pairs.map(\.query), documents: pairs.map(\.document))
        #expect(result.truncated == [true, false])
        #expect(result.tokenCounts == [24, 7])
        let reference = try await CrossEncoderReference.compute(folder: folder, pairs: pairs, maxLength: 24)
        #expect(reference.tokens[0].count == 24)
        #expect(abs(result.vector(at: 0)[0] - reference.logits[0][0]) <= 1e-3, "\(result.vector(at: 0)) against \(reference.logits[0])")
        #expect(abs(result.vector(at: 1)[0] - reference.logits[1][0]) <= 1e-3)
    }

    @Test func aRerankerRefusesToEmbedSayingWhy() throws {
        let model = try EmbeddingModel(url: try Self.crossEncoder().gguf, options: .init(threads: 1))
        #expect {
            _ = try model.embed(["hello"])
        } throws: { error in
            let error = error as! EngineError
            return error.code == .cannotEmbed && error.message.contains("reranker")
        }
    }

    @Test func anEmbeddingModelRefusesToRerankSayingWhy() throws {
        let model = try EmbeddingModel(url: TestModels.defaultModel, options: .init(threads: 1))
        #expect {
            _ = try model.rerank(queries: ["q"], documents: ["d"])
        } throws: { error in
            let error = error as! EngineError
            return error.code == .cannotRerank && error.message.contains("not a reranker")
        }
    }
}
