import Foundation
import Testing
import WorkerBeeFixtures
import WorkerBeeTestSupport

/// `workerbee models import` of a cross-encoder folder and `workerbee rerank` with it.
@Suite(.timeLimit(.minutes(10))) struct RerankCommandTests {
    static let query = "hello world"
    static let documents = ["the worker bee", "hello world !", "a text", "bees embed vectors , hello"]

    /// A sandbox whose models folder holds `tiny-ce`, imported with `--type auto` from a generated
    /// cross-encoder folder, which is returned too.
    static func imported() async throws -> (sandbox: WorkerSandbox, source: URL, importRun: CommandRun) {
        let sandbox = try WorkerSandbox()
        let source = sandbox.directory.appendingPathComponent("cross-encoder")
        try TinyModels.writeCrossEncoderBERT(to: source)
        let run = try await CommandRun.run(["models", "import", source.path, "--models-dir", sandbox.directory.path, "--name", "tiny-ce"])
        return (sandbox, source, run)
    }

    @Test func anImportedCrossEncoderIsListedAsARerankerAndKeepsScoresFaithful() async throws {
        let (sandbox, _, run) = try await Self.imported()
        defer { sandbox.remove() }
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("pooler and classifier kept"), "\(run.stderr)")
        let chosen = try #require(run.stderr.split(separator: "\n").first { $0.contains("<- chosen") }, "\(run.stderr)")
        let agreement = try #require(chosen.split(separator: " ").compactMap { Double($0) }.last)
        #expect(agreement >= 0.9999, "\(chosen)")
        let list = try await CommandRun.run(["models", "list", "--models-dir", sandbox.directory.path])
        let row = try #require(list.stdout.split(separator: "\n").first { $0.hasPrefix("tiny-ce") }, "\(list.stdout)")
        #expect(row.hasSuffix("rerank"), "\(row)")
    }

    @Test func rerankPrintsTheDocumentsBestFirstWithTheOriginalModelsScores() async throws {
        let (sandbox, source, _) = try await Self.imported()
        defer { sandbox.remove() }
        let reference = try await CrossEncoderReference.compute(folder: source, pairs: Self.documents.map { (Self.query, $0) })
        let logits = reference.logits.map { $0[0] }
        let order = logits.indices.sorted { logits[$0] > logits[$1] }
        let run = try await CommandRun.run(
            ["rerank", "--models-dir", sandbox.directory.path, "--model", "tiny-ce", "--query", Self.query, "--json", "--raw-scores", "--top-n", "3"] + Self.documents)
        #expect(run.status == 0, "\(run.stderr)")
        let lines = try run.stdout.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(lines.compactMap { $0["index"] as? Int } == Array(order.prefix(3)))
        for line in lines {
            let index = try #require(line["index"] as? Int)
            let score = try #require(line["score"] as? NSNumber).floatValue
            #expect(abs(score - logits[index]) <= 1e-3, "document \(index)")
        }
        // Documents from JSON lines on stdin, probabilities by default.
        let input = Self.documents.map { #"{"text": "\#($0)"}"# }.joined(separator: "\n")
        let piped = try await CommandRun.run(["rerank", "--models-dir", sandbox.directory.path, "--model", "tiny-ce", "--query", Self.query, "--json"], stdin: input)
        #expect(piped.status == 0, "\(piped.stderr)")
        let scores = try piped.stdout.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])["score"] as? NSNumber }
        #expect(scores.count == Self.documents.count)
        #expect(scores.allSatisfy { ($0?.floatValue ?? -1) > 0 && ($0?.floatValue ?? 2) < 1 })
    }

    @Test func rerankWithAnEmbeddingModelSaysWhyAndNamesTheRerankers() async throws {
        let (sandbox, _, _) = try await Self.imported()
        defer { sandbox.remove() }
        let source = sandbox.directory.appendingPathComponent("embedder")
        try TinyModels.writeSentenceTransformersBERT(to: source)
        _ = try await CommandRun.run(["models", "import", source.path, "--models-dir", sandbox.directory.path, "--name", "tiny-embed", "--type", "f32"])
        let run = try await CommandRun.run(["rerank", "--models-dir", sandbox.directory.path, "--model", "tiny-embed", "--query", "q", "d"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("embedding model") && run.stderr.contains("tiny-ce"), "\(run.stderr)")
    }
}
