import Foundation
import GGUF
import Testing
import WorkerBeeFixtures
import WorkerBeeTestSupport
import WorkerBeeWire

@testable import WorkerBee

/// Reranking through a pool keeps embed's guarantees: pieces, retries, poison isolation.
@Suite(.serialized, .timeLimit(.minutes(10))) struct RerankPoolTests {
    /// A sandbox with a generated cross-encoder `tiny-ce.gguf`.
    static func reranker() throws -> (sandbox: WorkerSandbox, url: URL) {
        let sandbox = try WorkerSandbox()
        let source = sandbox.directory.appendingPathComponent("cross-encoder")
        try TinyModels.writeCrossEncoderBERT(to: source)
        let url = sandbox.directory.appendingPathComponent("tiny-ce.gguf")
        try SentenceTransformersConverter.convert(directory: source, to: url, type: .f32)
        return (sandbox, url)
    }

    static func configuration(_ sandbox: WorkerSandbox, _ url: URL, fault: String? = nil) -> WorkerConfiguration {
        var configuration = sandbox.configuration(fault: fault)
        configuration.models.embedding = .file(url)
        configuration.requestLimit = EmbedRequestLimit(texts: 16)
        return configuration
    }

    @Test func aPoolRanksLikeOneWorkerAndCornersAPoisonDocument() async throws {
        let (sandbox, url) = try Self.reranker()
        defer { sandbox.remove() }
        var documents = TinyEmbeddingModel.texts(200)
        let worker = WorkerProcess(configuration: Self.configuration(sandbox, url))
        let expected = try await withCleanup({ await worker.stop() }) { try await worker.rerank("hello world", documents: documents) }
        #expect(expected.count == 200 && expected.labels == 1)
        #expect(expected.ranked.map(\.score) == expected.scores.sorted(by: >))

        documents[123] = "BOOM"
        let pool = WorkerPool(configuration: Self.configuration(sandbox, url, fault: "embed-text=BOOM:abort"), processes: 2, threadsPerProcess: 1)
        try await withCleanup({ await pool.stop() }) {
            let reported = try await pool.rerank("hello world", documents: documents, options: RerankOptions(poisonDocuments: .report))
            #expect(reported.failures.map(\.index) == [123])
            #expect(!reported.ranked.contains { $0.index == 123 })
            for index in 0..<200 where index != 123 {
                #expect(abs(reported.scores[index] - expected.scores[index]) < 1e-4, "document \(index)")
            }
            await #expect(throws: WorkerError.self) { try await pool.rerank("hello world", documents: documents) }
            #expect(await pool.statistics.losses > 0)
        }
    }

    @Test func rerankingWithAnEmbeddingModelFailsSayingSo() async throws {
        let model = try TinyEmbeddingModel()
        defer { model.sandbox.remove() }
        let worker = WorkerProcess(configuration: model.configuration())
        try await withCleanup({ await worker.stop() }) {
            do {
                _ = try await worker.rerank("q", documents: ["d"])
                Issue.record("an embedding model reranked")
            } catch let error as WorkerError {
                #expect(error.code == .cannotRerank, "\(error)")
            }
            // The worker stays up and still embeds.
            #expect(try await worker.embed(["hello"]).count == 1)
        }
    }
}
