import InMemoryTracing
import Synchronization
import Testing
import Tracing

@testable import WorkerBee

/// The batcher's spans when several requests share a batch, recorded by an in-memory tracer bound
/// to the test's task (`withTracer`: nothing process-wide). No workers: the backend holds each
/// batch until the test lets it answer. (A library behaviour, kept beside the server's trace tests.)
@Suite(.timeLimit(.minutes(1))) struct BatchTracingTests {
    /// Holds each batch until ``releaseAll()``, and reports every batch with the trace context it
    /// runs in.
    final class HeldBatches: Sendable {
        let arrivals: AsyncStream<(texts: [String], context: ServiceContext?)>
        private let arrive: AsyncStream<(texts: [String], context: ServiceContext?)>.Continuation
        private let held = Mutex<[CheckedContinuation<Void, Never>]>([])

        init() { (arrivals, arrive) = AsyncStream.makeStream() }

        func embed(_ texts: [String]) async -> Embeddings {
            let context = ServiceContext.current
            await withCheckedContinuation { continuation in
                held.withLock { $0.append(continuation) }
                arrive.yield((texts, context))
            }
            let values: [Float] = texts.flatMap { _ -> [Float] in [1, 0] }
            return Embeddings(result: EmbedResult(dimension: 2, values: values, tokenCounts: texts.map { _ in 3 }, truncated: texts.map { _ in false }), failures: [])
        }

        func releaseAll() {
            for gate in held.withLock({ held in defer { held = [] }; return held }) { gate.resume() }
        }
    }

    @Test func aSharedBatchIsInTheOldestRequestsTraceAndLinkedWithTheOthers() async throws {
        let tracer = InMemoryTracer()
        let backend = HeldBatches()
        let (depths, depth) = AsyncStream<Int>.makeStream()
        var observer = EmbeddingBatcher.Observer()
        observer.queueDepth = { depth.yield($0) }
        let batcher = EmbeddingBatcher(workers: 1, limits: .init(batchTexts: 64), observer: observer) { texts, _, _, _, _ in await backend.embed(texts) }
        var queued = depths.makeAsyncIterator()
        var batches = backend.arrivals.makeAsyncIterator()
        /// Waits until `count` texts are queued (the batcher reports every change).
        func waitForQueue(_ count: Int) async { while let texts = await queued.next(), texts != count {} }

        /// A request: a span of its own around a batched call, as the server's request span, in the
        /// test's tracer.
        func request(_ name: String, _ text: String) -> Task<Void, any Error> {
            Task { try await withTracer(tracer) { try await withSpan(name) { _ in _ = try await batcher.embed([text], model: nil, normalize: true) } } }
        }
        let first = request("request A", "a")
        #expect(await batches.next()?.texts == ["a"])  // the worker is now busy with A's batch
        await waitForQueue(0)
        let second = request("request B", "b")
        await waitForQueue(1)
        let third = request("request C", "c")
        await waitForQueue(2)
        backend.releaseAll()
        let shared = try #require(await batches.next())
        #expect(shared.texts == ["b", "c"])
        backend.releaseAll()
        for call in [first, second, third] { try await call.value }

        let spans = tracer.finishedSpans
        func span(_ name: String, parent: String? = nil) throws -> FinishedInMemorySpan {
            try #require(spans.first { $0.operationName == name && (parent == nil || $0.parentSpanID == parent) }, "no \(name) among \(spans.map(\.operationName))")
        }
        let requestB = try span("request B"), requestC = try span("request C")
        let batch = try span("batch", parent: requestB.spanID)
        #expect(batch.attributes["workerbee.batch.texts"]?.toSpanAttribute() == .int(2))
        #expect(batch.attributes["workerbee.batch.callers"]?.toSpanAttribute() == .int(2))
        #expect(batch.links.map { $0.context.inMemorySpanContext?.spanID } == [requestC.spanID], "the batch links to the other request it serves")
        #expect(shared.context?.inMemorySpanContext?.spanID == batch.spanID, "the batch's worker calls run in its context")
        let waitC = try span("queue wait", parent: requestC.spanID)
        #expect(waitC.links.map { $0.context.inMemorySpanContext?.spanID } == [batch.spanID], "C's queue wait links to the batch that took its text")
        #expect(!spans.contains { $0.operationName == "batch" && $0.parentSpanID == requestC.spanID }, "one span per batch, not one per request")
    }
}
