import Foundation
import Testing
import WorkerBeeFixtures

@testable import GGUF

@Suite struct ModelPromptsTests {
    static let e5Style = ModelPrompts(prompts: ["query": "query: ", "passage": "passage: "], defaultName: nil)

    @Test func importKeepsTheSentenceTransformersPromptsAndTheDefault() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("prompts-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let source = root.appendingPathComponent("tiny")
        try TinyModels.writeSentenceTransformersBERT(to: source)
        let config: [String: Any] = ["prompts": ["query": "query: ", "passage": "passage: "], "default_prompt_name": "query"]
        try JSONSerialization.data(withJSONObject: config).write(to: source.appendingPathComponent("config_sentence_transformers.json"))
        let output = root.appendingPathComponent("tiny.gguf")
        let report = try SentenceTransformersConverter.convert(directory: source, to: output)
        let prompts = ModelPrompts(gguf: try GGUFFile(contentsOf: output))
        #expect(prompts == ModelPrompts(prompts: ["query": "query: ", "passage": "passage: "], defaultName: "query"))
        #expect(report.notes.contains { $0.contains("prompts kept") })
    }

    @Test func aModelWithoutPromptsCarriesNoneAndAppliesNone() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("prompts-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let source = root.appendingPathComponent("tiny")
        try TinyModels.writeSentenceTransformersBERT(to: source)
        let output = root.appendingPathComponent("tiny.gguf")
        try SentenceTransformersConverter.convert(directory: source, to: output)
        let prompts = ModelPrompts(gguf: try GGUFFile(contentsOf: output))
        #expect(prompts.prompts.isEmpty)
        #expect(try prompts.text(name: nil, inputType: nil) == "")
    }

    @Test func cohereInputTypesMapToTheModelsPrompts() throws {
        #expect(try Self.e5Style.text(name: nil, inputType: "search_query") == "query: ")
        #expect(try Self.e5Style.text(name: nil, inputType: "search_document") == "passage: ")
        #expect(try Self.e5Style.text(name: "passage", inputType: "search_query") == "passage: ", "a name wins over an input type")
    }

    @Test func anUnknownPromptIsAnErrorThatListsTheModelsPrompts() {
        #expect(throws: GGUFError.self) { try Self.e5Style.text(name: "summary", inputType: nil) }
        do {
            _ = try Self.e5Style.text(name: nil, inputType: "clustering")
        } catch {
            #expect(error.message.contains("\"passage\", \"query\""), "\(error.message)")
        }
    }
}
