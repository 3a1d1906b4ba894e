import Foundation
import GGUF
import Testing
import WorkerBeeTestSupport
import WorkerBeeWire
import WorkerBeeFixtures
import WorkerBeeModels

@Suite(.timeLimit(.minutes(10))) struct ModelsCommandTests {
    @Test func modelsInfoDescribesTheDefaultModel() async throws {
        let run = try await CommandRun.run(["models", "info", ModelDirectory.defaultEmbeddingModel])
        #expect(run.status == 0, "\(run.stderr)")
        for fact in ["architecture: bert", "context length: 512", "embedding length: 384", "pooling: mean", "file type: ", "size:", "can: embed", "source: the models folder"] {
            #expect(run.stdout.contains(fact), "missing \(fact)")
        }
        // The setup converts it to the type measured fastest here.
        #expect(["file type: F16", "file type: BF16", "file type: F32"].contains { run.stdout.contains($0) })
    }

    @Test func modelsListShowsTheDefaultModel() async throws {
        let run = try await CommandRun.run(["models", "list"])
        #expect(run.status == 0)
        #expect(run.stdout.contains(ModelDirectory.defaultEmbeddingModel))
    }

    @Test func importingAnUnsupportedArchitectureSaysWhatIsSupported() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let source = sandbox.directory.appendingPathComponent("roberta")
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        try Data(#"{"model_type": "roberta", "architectures": ["RobertaModel"]}"#.utf8).write(to: source.appendingPathComponent("config.json"))
        let run = try await CommandRun.run(["models", "import", source.path, "--models-dir", sandbox.directory.path])
        #expect(run.status != 0)
        #expect(run.stderr.contains("roberta") && run.stderr.contains("BERT"))
    }

    @Test func importWithTypeAutoMeasuresEachTypeAndKeepsAFaithfulOne() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let source = sandbox.directory.appendingPathComponent("tiny-st")
        try TinyModels.writeSentenceTransformersBERT(to: source)
        let run = try await CommandRun.run(["models", "import", source.path, "--models-dir", sandbox.directory.path, "--name", "tiny"])
        #expect(run.status == 0, "\(run.stderr)")
        let rows = run.stderr.split(separator: "\n").filter { $0.contains("chunks/s") }
        #expect(rows.count == 3, "\(run.stderr)")
        let chosen = try #require(rows.first { $0.contains("<- chosen") })
        let cosine = try #require(chosen.split(separator: " ").compactMap { Double($0) }.last)
        #expect(cosine >= 0.9999, "\(chosen)")
        let type = String(chosen.split(separator: " ").first ?? "")
        #expect(run.stderr.contains("imported tiny (\(type),"), "\(run.stderr)")
        // The file kept is the measured conversion of the chosen type.
        let file = try GGUFFile(contentsOf: sandbox.directory.appendingPathComponent("tiny.gguf"))
        #expect(file["general.file_type"]?.intValue == ["F32": 0, "F16": 1, "BF16": 32][type], "\(type)")
    }

    @Test func aBF16ConversionEmbedsLikeF32() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let source = sandbox.directory.appendingPathComponent("tiny-st")
        try TinyModels.writeSentenceTransformersBERT(to: source)
        var vectors: [[Float]] = []
        for type in ["f32", "bf16"] {
            let imported = try await CommandRun.run(["models", "import", source.path, "--models-dir", sandbox.directory.path, "--name", "tiny-\(type)", "--type", type])
            #expect(imported.status == 0, "\(imported.stderr)")
            let run = try await CommandRun.run(["embed", "--models-dir", sandbox.directory.path, "--model", "tiny-\(type)", "hello world the bee"])
            #expect(run.status == 0, "\(run.stderr)")
            vectors.append(try #require(try run.embeddings.first?.vector))
        }
        #expect(cosineSimilarity(vectors[0], vectors[1]) > 0.999)
    }
}
