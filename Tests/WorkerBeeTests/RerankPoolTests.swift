import Foundation
import Synchronization
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

    /// A rerank call's requests are sized by their pairs, query included: a long query with many
    /// short documents goes in several requests.
    @Test func rerankRequestsCountTheQueryOfEveryPair() async throws {
        let limit = EmbedRequestLimit(texts: 512, bytes: 1_000)
        let documents = Array(repeating: "the bee", count: 10)
        #expect(limit.requests(for: documents).count == 1)
        #expect(limit.requests(for: documents, extraBytes: 400) == [0..<2, 2..<4, 4..<6, 6..<8, 8..<10])
        let (sandbox, url) = try Self.reranker()
        defer { sandbox.remove() }
        var configuration = Self.configuration(sandbox, url)
        configuration.requestLimit = limit
        let query = Array(repeating: "hello", count: 70).joined(separator: " ")  // 419 bytes
        let worker = WorkerProcess(configuration: configuration)
        try await withCleanup({ await worker.stop() }) {
            let sent = Self.countRerankRequests(await worker.events())
            let scored = try await worker.rerank(query, documents: documents)
            #expect(scored.count == 10)
            #expect(await ProcessProbe.poll { sent.withLock { $0 } == 5 }, "\(sent.withLock { $0 }) requests")
            let pool = WorkerPool(configuration: configuration, processes: 1, threadsPerProcess: 1)
            try await withCleanup({ await pool.stop() }) {
                try await pool.start()
                let pooledSent = Self.countRerankRequests(await pool.workers[0].events())
                let pooled = try await pool.rerank(query, documents: documents, options: RerankOptions(spreadOverWorkers: false))
                #expect(pooled.scores == scored.scores)
                #expect(await ProcessProbe.poll { pooledSent.withLock { $0 } == 5 }, "\(pooledSent.withLock { $0 }) requests")
            }
        }
    }

    /// A count shared with the task that keeps it.
    final class Count: Sendable {
        let value = Mutex(0)
        func withLock<T>(_ body: (inout Int) -> T) -> T { value.withLock { body(&$0) } }
    }

    /// Counts the rerank requests sent on `events` as they come (a task that ends with the stream).
    static func countRerankRequests(_ events: AsyncStream<WorkerEvent>) -> Count {
        let count = Count()
        Task {
            for await event in events where event.isSent(label: "rerank") { count.withLock { $0 += 1 } }
        }
        return count
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
