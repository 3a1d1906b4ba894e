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

    /// Same pair, same score, bit for bit: alone, or packed with other pairs, on one thread or two.
    @Test func aPairGetsTheSameScoreBitForBitWhateverItIsBatchedWith() throws {
        let gguf = try Self.crossEncoder(labels: 3).gguf
        let pairs = Self.pairs + Self.pairs.map { ($0.document, $0.query) }
        let together = try EmbeddingModel(url: gguf, options: .init(threads: 1)).rerank(queries: pairs.map(\.query), documents: pairs.map(\.document))
        let twoThreads = try EmbeddingModel(url: gguf, options: .init(threads: 2))
        for (index, pair) in pairs.enumerated() {
            let alone = try twoThreads.rerank(queries: [pair.query], documents: [pair.document])
            #expect(alone.vector(at: 0) == together.vector(at: index), "pair \(index)")
        }
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

/// Rerankers as they come from the Hub, each family in a small generated GGUF of its layout.
@Suite(.serialized, .timeLimit(.minutes(10))) struct RerankerFamilyTests {
    /// A BERT cross-encoder as llama.cpp's converter writes it (no pooler; the classifier on
    /// [CLS]) still gets its document in segment 1, and matches the original model without the pooler.
    @Test func aBERTCrossEncoderWithoutItsPoolerScoresAsTheModelWithoutIt() async throws {
        let (folder, gguf) = try RerankModelTests.crossEncoder()
        let hubStyle = gguf.deletingLastPathComponent().appendingPathComponent("hub-style.gguf")
        try TinyModels.rewriteGGUF(gguf, to: hubStyle, droppingTensors: ["cls.weight", "cls.bias"])
        let model = try EmbeddingModel(url: hubStyle, options: .init(threads: 2))
        let pairs = RerankModelTests.pairs
        let result = try model.rerank(queries: pairs.map(\.query), documents: pairs.map(\.document))
        let reference = try await CrossEncoderReference.compute(folder: folder, pairs: pairs, pooler: false)
        for (index, expected) in reference.logits.enumerated() {
            #expect(abs(result.vector(at: index)[0] - expected[0]) <= 1e-3, "pair \(index): \(result.vector(at: index)) against \(expected)")
        }
    }

    /// An XLM-RoBERTa-style reranker (a SentencePiece unigram vocabulary that starts and ends a
    /// text) gets `<s> query </s></s> document </s>`, as Hugging Face's tokenizer makes the pair.
    @Test func anXLMRobertaStyleRerankerGetsItsOwnPairForm() throws {
        let (_, gguf) = try RerankModelTests.crossEncoder()
        let xlmr = gguf.deletingLastPathComponent().appendingPathComponent("xlm-roberta-style.gguf")
        try TinyModels.rewriteGGUF(gguf, to: xlmr, metadata: TinyModels.xlmRobertaVocabulary(count: 20))
        let model = try EmbeddingModel(url: xlmr, options: .init(threads: 1))
        #expect(model.pairFormat == .plain(first: [0], middle: [2, 2], last: [2]))
        let query = try model.tokenize("hello world", addSpecial: false, parseSpecial: false)
        let document = try model.tokenize("the worker bee", addSpecial: false, parseSpecial: false)
        #expect(!query.isEmpty && !document.isEmpty)
        let result = try model.rerank(queries: ["hello world"], documents: ["the worker bee"])
        #expect(result.tokenCounts == [query.count + document.count + 4])
        #expect(result.vector(at: 0)[0].isFinite)
    }

    /// A Jina BERT v2 reranker (ALiBi instead of position embeddings, a one-output `cls` head, as
    /// jina-reranker-v1 is converted) loads and scores BERT pairs with the document in segment 1.
    @Test func aJinaBERTRerankerScoresBERTPairs() throws {
        let (_, gguf) = try RerankModelTests.crossEncoder()
        let jina = gguf.deletingLastPathComponent().appendingPathComponent("jina-style.gguf")
        try TinyModels.rewriteGGUF(
            gguf, to: jina, metadata: ["general.architecture": .string("jina-bert-v2")],
            droppingTensors: ["position_embd.weight", "cls.weight", "cls.bias"],
            renaming: ["bert.": "jina-bert-v2.", "cls.output.weight": "cls.weight", "cls.output.bias": "cls.bias"])
        let model = try EmbeddingModel(url: jina, options: .init(threads: 1))
        #expect(model.isReranker && model.architecture == "jina-bert-v2" && model.dimension == 1)
        #expect(model.pairFormat == .bert(first: 2, separator: 3))
        #expect(model.segments != nil, "the document goes in segment 1")
        let result = try model.rerank(queries: ["hello world", "the worker bee embeds a text"], documents: ["the worker bee embeds a text", "hello world"])
        #expect(result.tokenCounts == [12, 12], "[CLS] 2 tokens [SEP] 7 tokens [SEP]")
        #expect(result.values.allSatisfy { $0.isFinite && abs($0) < 1 }, "llama.cpp ends a one-output head with tanh")
        #expect(result.values[0] != result.values[1], "which text is the query matters")
    }

    /// A Qwen3-style LLM reranker's pair is its GGUF rerank template filled in, special tokens
    /// and all; its score is log(p(yes) / p(no)). Without a template it falls back to the plain form.
    @Test func aQwen3StyleRerankerUsesItsTemplate() throws {
        let directory = try TestModels.temporaryDirectory()
        let url = directory.appendingPathComponent("tiny-qwen3-reranker.gguf")
        try TinyModels.writeQwen3Reranker(to: url)
        let model = try EmbeddingModel(url: url, options: .init(threads: 1))
        #expect(model.isReranker && model.dimension == 1)
        #expect(model.pairFormat == .template(TinyModels.qwen3RerankTemplate))
        let documents = ["the bee", "a query about the bee, and more text"]
        let result = try model.rerank(queries: ["what bee?", "what bee?"], documents: documents)
        for (index, document) in documents.enumerated() {
            let prompt = PairFormat.fill(TinyModels.qwen3RerankTemplate, query: "what bee?", document: document)
            let tokens = try model.tokenize(prompt, addSpecial: false, parseSpecial: true)
            #expect(tokens.filter { $0 == 4 }.count == 2, "the template's two <|im_end|> are single special tokens")
            #expect(result.tokenCounts[index] == tokens.count)
        }
        #expect(result.values.allSatisfy { $0.isFinite } && result.values[0] != result.values[1])

        let plain = directory.appendingPathComponent("tiny-qwen3-no-template.gguf")
        try TinyModels.writeQwen3Reranker(to: plain, template: false)
        let withoutTemplate = try EmbeddingModel(url: plain, options: .init(threads: 1))
        guard case .plain = withoutTemplate.pairFormat else {
            Issue.record("a model without a rerank template takes the plain pair form, not \(withoutTemplate.pairFormat)")
            return
        }
    }

    /// A template pair over the context has its document cut until the prompt fits.
    @Test func aTemplatePairOverTheContextIsCutOnItsDocument() throws {
        let url = try TestModels.temporaryDirectory().appendingPathComponent("tiny-qwen3-reranker.gguf")
        try TinyModels.writeQwen3Reranker(to: url)
        let model = try EmbeddingModel(url: url, options: .init(threads: 1, contextSize: 400))
        let fixed = try model.tokenize(PairFormat.fill(TinyModels.qwen3RerankTemplate, query: "what bee?", document: ""), addSpecial: false, parseSpecial: true).count
        #expect(fixed < 380)
        let long = Array(repeating: "the bee", count: 200).joined(separator: " ")
        let result = try model.rerank(queries: ["what bee?", "what bee?"], documents: [long, "the bee"])
        #expect(result.truncated == [true, false])
        #expect(result.tokenCounts[0] <= 400 && result.tokenCounts[0] >= 398, "the cut document fills the context")
        #expect(result.values.allSatisfy { $0.isFinite })
    }

    /// A query so long that the template without a document is over the context is cut too,
    /// instead of failing the request (and the other pairs batched with it).
    @Test func aTemplatePairWithAQueryOverTheContextHasItsQueryCut() throws {
        let url = try TestModels.temporaryDirectory().appendingPathComponent("tiny-qwen3-reranker.gguf")
        try TinyModels.writeQwen3Reranker(to: url)
        let model = try EmbeddingModel(url: url, options: .init(threads: 1, contextSize: 400))
        let longQuery = Array(repeating: "the bee", count: 200).joined(separator: " ")
        let result = try model.rerank(queries: [longQuery, "what bee?"], documents: ["the bee", "the bee"])
        #expect(result.truncated == [true, false])
        #expect(result.tokenCounts[0] <= 400)
        #expect(result.values.allSatisfy { $0.isFinite })
    }
}
