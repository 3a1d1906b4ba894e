import Foundation
import Testing
import WorkerBeeTestSupport
import WorkerBeeWire

@Suite struct ModelsCommandTests {
    @Test func modelsInfoDescribesTheDefaultModel() async throws {
        let run = try await CommandRun.run(["models", "info", ModelDirectory.defaultEmbeddingModel])
        #expect(run.status == 0, "\(run.stderr)")
        for fact in ["architecture: bert", "context length: 512", "embedding length: 384", "pooling: mean", "file type: F16", "size:"] {
            #expect(run.stdout.contains(fact), "missing \(fact)")
        }
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
}
