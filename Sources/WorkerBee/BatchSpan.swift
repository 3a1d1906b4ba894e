import Tracing

/// The "batch" span of one ``EmbeddingBatcher`` batch: a child of its oldest caller's context,
/// linked to the other callers' contexts, with the batch's size as attributes; the worker
/// exchanges that serve the batch are its children (``run(_:)``).
struct BatchSpan: Sendable {
    /// The tracer of the oldest caller, which the batch's children go to.
    let tracer: any Tracer
    let span: any Span

    /// Starts the span in `tracer` under `parent`, linked to `others` (gathered only when the span
    /// records: with tracing off, a batch costs no array).
    init(tracer: any Tracer, parent: ServiceContext, others: () -> [ServiceContext], texts: Int, tokens: Int, rerank: Bool) {
        self.tracer = tracer
        span = tracer.startSpan("batch", context: parent)
        guard span.isRecording else { return }
        let others = others()
        span.updateAttributes { attributes in
            attributes["workerbee.batch.kind"] = rerank ? "rerank" : "embed"
            attributes["workerbee.batch.texts"] = texts
            attributes["workerbee.batch.estimated_tokens"] = tokens
            attributes["workerbee.batch.callers"] = others.count + 1
        }
        for other in others { span.addLink(SpanLink(context: other, attributes: [:])) }
    }

    /// Links a caller's queue wait to this batch (the batch took some of its texts).
    func link(queueWait: any Span) {
        if queueWait.isRecording { queueWait.addLink(SpanLink(context: span.context, attributes: [:])) }
    }

    /// Runs the batch's work with this span as the current one, in the caller's tracer.
    func run<T: Sendable>(_ work: () async throws -> T) async throws -> T {
        try await withTracer(tracer) {
            try await ServiceContext.withValue(span.context) { try await work() }
        }
    }

    /// Ends the span with the batch's outcome: the tokens embedded and texts that crashed the
    /// worker, or the error.
    func end(_ outcome: Result<Embeddings, any Error>) {
        switch outcome {
        case .success(let partial):
            if span.isRecording {
                span.updateAttributes { attributes in
                    attributes["workerbee.batch.tokens"] = partial.result.tokenCounts.reduce(0, +)
                    if !partial.failures.isEmpty { attributes["workerbee.batch.poison_texts"] = partial.failures.count }
                }
            }
        case .failure(let error):
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error))
        }
        span.end()
    }
}
