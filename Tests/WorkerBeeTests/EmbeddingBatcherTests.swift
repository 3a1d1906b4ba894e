import Foundation
import Synchronization
import Testing
import WorkerBeeTestSupport
import WorkerBeeWire

@testable import WorkerBee

/// The batcher's queue, with a backend that records its batches and answers when the test lets
/// it (the HTTP path over real workers is covered by the server tests).
@Suite(.timeLimit(.minutes(3))) struct EmbeddingBatcherTests {
    /// Records batches; holds each one until the test releases it.
    final class GatedBackend: Sendable {
        private let state = Mutex<(batches: [[String]], queries: [[String]?], gates: [CheckedContinuation<Void, Never>])>(([], [], []))

        var batches: [[String]] { state.withLock { $0.batches } }
        /// Each batch's queries (nil for an embed batch).
        var queries: [[String]?] { state.withLock { $0.queries } }

        /// Answers each text with [its length (plus its query's), 1].
        func embed(_ texts: [String], queries: [String]? = nil) async -> Embeddings {
            await withCheckedContinuation { continuation in
                state.withLock {
                    $0.batches.append(texts)
                    $0.queries.append(queries)
                    $0.gates.append(continuation)
                }
            }
            let values: [Float] = texts.enumerated().flatMap { index, text -> [Float] in [Float(text.count + (queries?[index].count ?? 0)), 1] }
            return Embeddings(result: EmbedResult(dimension: 2, values: values, tokenCounts: texts.map(\.count), truncated: texts.map { _ in false }), failures: [])
        }

        /// Lets every batch held so far answer.
        func release() {
            let gates = state.withLock { state in
                defer { state.gates = [] }
                return state.gates
            }
            for gate in gates { gate.resume() }
        }
    }

    private func batcher(_ backend: GatedBackend, workers: Int = 1) -> EmbeddingBatcher {
        EmbeddingBatcher(workers: workers, limits: .init(batchTexts: 64)) { texts, queries, _, _, _ in await backend.embed(texts, queries: queries) }
    }

    @Test func rerankPairsOfDifferentQueriesShareABatchEachWithItsQueryAndEmbedTextsGoApart() async throws {
        let backend = GatedBackend()
        let batcher = batcher(backend)
        let busy = Task { try await batcher.embed(["busy"], model: nil, normalize: true) }
        #expect(await ProcessProbe.poll { backend.batches.count == 1 })
        let first = Task { try await batcher.rerank(["a", "bb"], query: "q", model: nil) }
        #expect(await ProcessProbe.poll { await batcher.pendingCallers == 2 })
        let text = Task { try await batcher.embed(["text"], model: nil, normalize: true) }
        #expect(await ProcessProbe.poll { await batcher.pendingCallers == 3 })
        let second = Task { try await batcher.rerank(["ccc"], query: "query", model: nil) }
        #expect(await ProcessProbe.poll { await batcher.pendingCallers == 4 })
        backend.release()
        #expect(await ProcessProbe.poll { backend.batches.count == 2 })
        #expect(backend.batches[1] == ["a", "bb", "ccc"])
        #expect(backend.queries[1] == ["q", "q", "query"])
        backend.release()
        #expect(await ProcessProbe.poll { backend.batches.count == 3 })
        #expect(backend.batches[2] == ["text"] && backend.queries[2] == nil)
        backend.release()
        #expect(try await first.value.vectors.map { $0[0] } == [2, 3])
        #expect(try await second.value.vectors.map { $0[0] } == [8])
        #expect(try await text.value.vectors.map { $0[0] } == [4])
        _ = try await busy.value
    }

    @Test func textsQueuedWhileTheWorkerIsBusyGoOutInTheOrderTheirCallsArrived() async throws {
        let backend = GatedBackend()
        let batcher = batcher(backend)
        let first = Task { try await batcher.embed(["first"], model: nil, normalize: true) }
        #expect(await ProcessProbe.poll { backend.batches.count == 1 })
        var calls: [Task<EmbeddingBatcher.Answer, any Error>] = []
        for index in 0..<20 {
            calls.append(Task { try await batcher.embed(["text \(index)"], model: nil, normalize: true) })
            #expect(await ProcessProbe.poll { await batcher.pendingCallers == index + 2 })
        }
        backend.release()
        #expect(await ProcessProbe.poll { backend.batches.count == 2 })
        #expect(backend.batches[1] == (0..<20).map { "text \($0)" })
        backend.release()
        for (index, call) in calls.enumerated() {
            #expect(try await call.value.vectors == [[Float("text \(index)".count), 1]])
        }
        _ = try await first.value
    }

    @Test func aCancelledCallersQueuedTextsNeverReachAWorker() async throws {
        let backend = GatedBackend()
        let batcher = batcher(backend)
        let first = Task { try await batcher.embed(["first"], model: nil, normalize: true) }
        #expect(await ProcessProbe.poll { backend.batches.count == 1 })
        let cancelled = Task { try await batcher.embed(["gone"], model: nil, normalize: true) }
        let kept = Task { try await batcher.embed(["kept"], model: nil, normalize: true) }
        #expect(await ProcessProbe.poll { await batcher.pendingCallers == 3 })
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        backend.release()
        #expect(await ProcessProbe.poll { backend.batches.count == 2 })
        #expect(backend.batches[1] == ["kept"])
        backend.release()
        _ = try await (first.value, kept.value)
        #expect(await batcher.pendingCallers == 0)
    }

    @Test func callsCancelledAsTheyAreAnsweredLeaveNothingBehind() async throws {
        let batcher = EmbeddingBatcher(workers: 2, limits: .init()) { texts, _, _, _, _ in
            Embeddings(result: EmbedResult(dimension: 1, values: texts.map { _ in 1 }, tokenCounts: texts.map { _ in 1 }, truncated: texts.map { _ in false }), failures: [])
        }
        for round in 0..<200 {
            let call = Task { try await batcher.embed(["text \(round)"], model: nil, normalize: true) }
            if round % 2 == 0 { await Task.yield() }
            call.cancel()
            _ = try? await call.value
        }
        #expect(await ProcessProbe.poll { await batcher.pendingCallers == 0 })
    }
}
