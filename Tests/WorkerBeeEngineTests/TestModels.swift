import Foundation
import GGUF
import Testing
import WorkerBeeTestSupport
import WorkerBeeWire
import WorkerBeeModels

/// The real models and reference data the engine tests use.
enum TestModels {
    /// The repository root.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The default model the bootstrap installed (in the weight type fastest on this CPU).
    static var defaultModel: URL { ModelDirectory.standard.resolve(ModelDirectory.defaultEmbeddingModel) }

    /// The sentence-transformers directory the bootstrap unpacked.
    static var defaultModelSource: URL { ModelDirectory.home.appendingPathComponent("sources/\(ModelDirectory.defaultEmbeddingModel)") }

    struct Reference: Decodable {
        let text: String
        let tokens: Int
        let embedding: [Float]
    }

    /// all-MiniLM-L6-v2 sentence embeddings computed without llama.cpp.
    static func references() throws -> [Reference] {
        let data = try Data(contentsOf: root.appendingPathComponent("Tests/Fixtures/minilm-reference.jsonl"))
        return try data.split(separator: UInt8(ascii: "\n")).map { try JSONDecoder().decode(Reference.self, from: Data($0)) }
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

