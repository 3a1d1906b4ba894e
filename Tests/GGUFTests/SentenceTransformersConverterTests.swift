import Foundation
import Testing
import WorkerBeeTestSupport

@testable import GGUF
import WorkerBeeFixtures

@Suite struct SentenceTransformersConverterTests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("conv-\(UUID().uuidString)")

    func convertTiny(type: SentenceTransformersConverter.OutputType = .f16, pooling: String = "mean") throws -> GGUFFile {
        let source = root.appendingPathComponent("tiny")
        try TinyModels.writeSentenceTransformersBERT(to: source, pooling: pooling)
        let output = root.appendingPathComponent("tiny.gguf")
        try SentenceTransformersConverter.convert(directory: source, to: output, type: type, name: "tiny")
        return try GGUFFile(contentsOf: output)
    }

    @Test func writesBertHyperParametersAndNonCausalAttention() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let file = try convertTiny()
        #expect(file.architecture == "bert")
        #expect(file["bert.embedding_length"]?.intValue == 32)
        #expect(file["bert.block_count"]?.intValue == 2)
        #expect(file["bert.attention.head_count"]?.intValue == 4)
        #expect(file["bert.feed_forward_length"]?.intValue == 64)
        #expect(file["bert.context_length"]?.intValue == 64)
        #expect(file["bert.attention.causal"]?.boolValue == false)
        #expect(file["tokenizer.ggml.token_type_count"]?.intValue == 2)
        #expect(file["general.file_type"]?.intValue == 1)
    }

    @Test(arguments: [("mean", 1), ("cls", 2)])
    func poolingTypeComesFromThePoolingModule(pooling: String, expected: Int) throws {
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(try convertTiny(pooling: pooling)["bert.pooling_type"]?.intValue == expected)
    }

    @Test func vocabularyIsInLlamaCppPhantomSpaceForm() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let file = try convertTiny()
        let tokens = (file["tokenizer.ggml.tokens"]?.arrayValue ?? []).compactMap(\.stringValue)
        try #require(tokens.count == 20)
        #expect(tokens[2] == "[CLS]")
        #expect(tokens[5] == "\u{2581}hello")
        #expect(tokens[9] == "s")
        let types = (file["tokenizer.ggml.token_type"]?.arrayValue ?? []).compactMap(\.intValue)
        try #require(types.count == 20)
        #expect(types[0...4].allSatisfy { $0 == 3 })
        #expect(types[5] == 1)
        #expect(file["tokenizer.ggml.model"]?.stringValue == "bert")
        #expect(file["tokenizer.ggml.cls_token_id"]?.intValue == 2)
        #expect(file["tokenizer.ggml.seperator_token_id"]?.intValue == 3)
    }

    @Test func f16KeepsEmbeddingsThatGgmlAddsToActivationsInF32() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let file = try convertTiny(type: .f16)
        #expect(file.tensor(named: "position_embd.weight")?.type == .f32)
        #expect(file.tensor(named: "token_types.weight")?.type == .f32)
        #expect(file.tensor(named: "token_embd_norm.bias")?.type == .f32)
        #expect(file.tensor(named: "blk.0.attn_q.weight")?.type == .f16)
        #expect(file.tensor(named: "token_embd.weight")?.type == .f16)
        #expect(file.tensor(named: "blk.1.ffn_up.weight")?.dimensions == [32, 64])
    }

    @Test func f32ConversionWritesOnlyF32Tensors() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let file = try convertTiny(type: .f32)
        #expect(file.tensors.allSatisfy { $0.type == .f32 })
        #expect(file["general.file_type"]?.intValue == 0)
    }

    @Test func bf16ConversionWritesBF16MatricesAndKeepsAddedEmbeddingsInF32() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let file = try convertTiny(type: .bf16)
        #expect(file["general.file_type"]?.intValue == 32)
        #expect(file.tensor(named: "blk.0.attn_q.weight")?.type == .bf16)
        #expect(file.tensor(named: "token_embd.weight")?.type == .bf16)
        #expect(file.tensor(named: "position_embd.weight")?.type == .f32)
        #expect(file.tensor(named: "token_embd_norm.bias")?.type == .f32)
    }

    @Test func poolerAndPositionIdsAreDroppedAndEveryLayerTensorIsNamed() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let names = Set(try convertTiny().tensors.map(\.name))
        #expect(!names.contains { $0.contains("pooler") || $0.contains("position_ids") })
        for name in SentenceTransformersConverter.requiredTensors(layerCount: 2) { #expect(names.contains(name)) }
    }

    @Test func unsupportedArchitectureNamesWhatIsSupported() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let source = root.appendingPathComponent("roberta")
        try TinyModels.writeSentenceTransformersBERT(to: source, modelType: "roberta")
        do {
            try SentenceTransformersConverter.convert(directory: source, to: root.appendingPathComponent("x.gguf"))
            Issue.record("a roberta model converted")
        } catch {
            #expect(error.code == .unsupportedArchitecture)
            #expect(error.message.contains("roberta"))
            #expect(error.message.contains("BERT"))
        }
    }

    @Test func missingWeightsFileIsAClearError() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let source = root.appendingPathComponent("tiny")
        try TinyModels.writeSentenceTransformersBERT(to: source)
        try FileManager.default.removeItem(at: source.appendingPathComponent("model.safetensors"))
        #expect(throws: GGUFError.self) {
            try SentenceTransformersConverter.convert(directory: source, to: root.appendingPathComponent("x.gguf"))
        }
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("x.gguf").path))
    }
}
