import ArgumentParser
import Foundation
import GGUF
import WorkerBeeWire
import WorkerBeeFixtures

extension ModelsCommand {
    struct TinyEmbedding: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tiny-embedding",
            abstract: "Write a tiny generated BERT embedding model, tiny-bert (random weights, 32 floats per vector; for fast pipeline and memory measurements).")

        @Option(help: "Models folder (default: $WORKERBEE_HOME/models).")
        var modelsDir: String?

        func run() throws {
            let folder = modelsDirectory(modelsDir).url
            let source = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-tiny-bert-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: source) }
            try TinyModels.writeSentenceTransformersBERT(to: source)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let output = folder.appendingPathComponent("tiny-bert.gguf")
            try SentenceTransformersConverter.convert(directory: source, to: output, name: "tiny-bert")
            print(output.path)
            printError("use it with: workerbee embed --model tiny-bert (its vectors mean nothing: its weights are random)")
        }
    }
}
