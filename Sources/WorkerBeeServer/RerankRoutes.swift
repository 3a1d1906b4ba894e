import Foundation
import NIOCore
import Hummingbird
import WorkerBee
import WorkerBeeModels

/// The rerank routes: `POST /v1/rerank` and `/v1/reranking` in the shape Cohere, Jina and
/// llama-server clients send, and `POST /rerank` in TEI's shape when the body has `texts` (the
/// other shape when it has `documents`, as llama-server decides it).
///
/// Scores: `relevance_score` (the `/v1` shape) is the model's probability that the document
/// is relevant, between 0 and 1, as Cohere and Jina return it: the sigmoid of the model's
/// logit; `"raw_scores": true` gives the logit itself, as llama-server returns it. TEI's `score`
/// is the same sigmoid unless `raw_scores`, as TEI does.
struct RerankRoutes: Sendable {
    /// The routes the embedding routes share (readiness, limits, batchers, metrics).
    let routes: EmbeddingRoutes

    /// `POST /v1/rerank`, `/v1/reranking`, and `/rerank` with `documents`.
    func rerank(_ body: ByteBuffer) async throws -> Response {
        let request = try RequestBodies.decode(RequestBodies.Rerank.self, from: body)
        guard let documents = request.documents else {
            throw APIError.badRequest("documents is required: a list of strings or of objects with text", param: "documents")
        }
        let texts = documents.map(\.text)
        let scored = try await score(request, texts: texts, param: "documents")
        var out: [UInt8] = []
        out.reserveCapacity(texts.count * 64 + 200)
        out.append(contentsOf: #"{"object":"list","id":"#.utf8)
        JSONResponse.append(string: UUID().uuidString.lowercased(), to: &out)
        out.append(contentsOf: #","model":"#.utf8)
        JSONResponse.append(string: request.model ?? routes.configuration.modelName, to: &out)
        out.append(contentsOf: #","results":["#.utf8)
        let returnDocuments = request.returnDocuments ?? request.returnText ?? false
        for (position, entry) in scored.ranked.prefix(try Self.topN(request.topN, count: texts.count)).enumerated() {
            if position > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"index":\#(entry.index),"relevance_score":"#.utf8)
            JSONResponse.append(scored.reported(entry.score, raw: request.rawScores ?? false), to: &out)
            if returnDocuments {
                out.append(contentsOf: #","document":{"text":"#.utf8)
                JSONResponse.append(string: texts[entry.index], to: &out)
                out.append(UInt8(ascii: "}"))
            }
            out.append(UInt8(ascii: "}"))
        }
        let tokens = scored.tokenCounts.reduce(0, +)
        out.append(contentsOf: #"],"usage":{"prompt_tokens":\#(tokens),"total_tokens":\#(tokens)}}"#.utf8)
        return JSONResponse.make(bytes: out, headers: [EmbeddingRoutes.truncatedHeader: "\(scored.truncatedCount)"])
    }

    /// `POST /rerank`: TEI's shape when the body has `texts`, else the `/v1/rerank` shape.
    func rerankEitherShape(_ body: ByteBuffer) async throws -> Response {
        let request = try RequestBodies.decode(RequestBodies.Rerank.self, from: body)
        guard let texts = request.texts else { return try await rerank(body) }
        let scored = try await score(request, texts: texts, param: "texts")
        var out: [UInt8] = [UInt8(ascii: "[")]
        let returnText = request.returnText ?? false
        for (position, entry) in scored.ranked.prefix(try Self.topN(request.topN, count: texts.count)).enumerated() {
            if position > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"index":\#(entry.index),"score":"#.utf8)
            JSONResponse.append(scored.reported(entry.score, raw: request.rawScores ?? false), to: &out)
            if returnText {
                out.append(contentsOf: #","text":"#.utf8)
                JSONResponse.append(string: texts[entry.index], to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        return JSONResponse.make(bytes: out, headers: [EmbeddingRoutes.truncatedHeader: "\(scored.truncatedCount)"])
    }

    /// A request's scores, in document order, with what the responses need.
    struct Scored {
        let scores: [Float]
        let tokenCounts: [Int]
        let truncatedCount: Int

        /// Best first; equal scores in input order.
        var ranked: [(index: Int, score: Float)] { Rerankings.bestFirst(scores) }

        /// The score as a route reports it: the logit, or its sigmoid.
        func reported(_ logit: Float, raw: Bool) -> Float {
            raw ? logit : Rerankings.probability(ofLogit: logit)
        }
    }

    private func score(_ request: RequestBodies.Rerank, texts: [String], param: String) async throws -> Scored {
        guard let query = request.query, !query.isEmpty else { throw APIError.badRequest("query is required and cannot be empty", param: "query") }
        guard !texts.isEmpty else { throw APIError.badRequest("\(param) is an empty list", param: param) }
        try routes.checkCount(texts.count)
        let truncation = try EmbeddingRoutes.truncation(request.truncationDirection)
        let model = try resolveReranker(request.model)
        try routes.checkReady()
        routes.metrics.counter("workerbee_model_requests_total", model: model ?? routes.configuration.modelName).increment()
        RequestTracingMiddleware.record(model: model ?? routes.configuration.modelName, inputs: texts.count)
        let answer: EmbeddingBatcher.Answer
        do {
            if let model {
                let reference = ModelReference(model)
                await routes.models.setKeepAlive(.standard, for: reference, now: false)
                answer = try await routes.batchers.batcher(for: reference).rerank(texts, query: query, model: nil, truncation: truncation)
            } else {
                answer = try await routes.batcher.rerank(texts, query: query, model: nil, truncation: truncation)
            }
        } catch is EmbeddingBatcher.QueueFull {
            var error = APIError(.tooManyRequests, "the server's queue is full; retry shortly", type: "rate_limit_error", code: "queue_full")
            error.retryAfter = 1
            throw error
        } catch let error as WorkerError where error.code == .cannotRerank {
            throw APIError(.badRequest, error.message, param: "model", code: "model_cannot_rerank")
        }
        if let labels = answer.vectors.first?.count, labels > 1 {
            throw APIError(
                .badRequest,
                "the model \(request.model ?? routes.configuration.modelName) is a classifier with \(labels) labels, not a reranker with one relevance score (an NLI cross-encoder, say); the library's rerank call gives every label",
                param: "model", code: "model_cannot_rerank")
        }
        let truncated = answer.truncated.filter { $0 }.count
        // TEI's `truncate: false`: a pair over the context is an error rather than cut.
        if request.truncate == false, truncated > 0 {
            throw APIError.badRequest(
                "\(truncated) of \(texts.count) pairs are longer than the model's context; send shorter \(param) or \"truncate\": true", param: param)
        }
        return Scored(scores: answer.vectors.map { $0.first ?? 0 }, tokenCounts: answer.tokenCounts, truncatedCount: truncated)
    }

    /// nil for the server's default model (when it is a reranker), or the name of a reranker in
    /// the models folder.
    private func resolveReranker(_ name: String?) throws -> String? {
        let configuration = routes.configuration
        let catalog = routes.catalog
        // Read the folder for the rerankers it holds only when an error names them.
        var hint: String {
            let available = catalog.rerankers().map(\.name)
            return available.isEmpty
                ? "the models folder has no reranker (workerbee models pull or import one, docs/MODELS.md)"
                : "the rerankers here: \(available.joined(separator: ", "))"
        }
        guard let name else {
            if catalog.whyCannotRerank(configuration.modelName) == nil { return nil }
            throw APIError(.badRequest, "model is required: the server's default model \(configuration.modelName) is not a reranker; \(hint)", param: "model", code: "model_cannot_rerank")
        }
        let bare = name.hasSuffix(":latest") ? String(name.dropLast(7)) : name
        guard !bare.isEmpty, !ModelDirectory.isPath(bare) else {
            throw APIError(.notFound, "the model \(name) does not exist; \(hint)", param: "model", code: "model_not_found")
        }
        if let why = catalog.whyCannotRerank(bare) {
            throw APIError(.badRequest, "the model \(name) exists, but \(why); \(hint)", param: "model", code: "model_cannot_rerank")
        }
        guard catalog.reranker(named: bare) != nil else {
            throw APIError(.notFound, "the model \(name) does not exist; \(hint)", param: "model", code: "model_not_found")
        }
        return bare == configuration.modelName ? nil : bare
    }

    /// How many results to return: `top_n` (a positive integer) or all.
    static func topN(_ value: Int?, count: Int) throws -> Int {
        guard let value else { return count }
        guard value > 0 else { throw APIError.badRequest("top_n must be a positive integer", param: "top_n") }
        return min(value, count)
    }
}
