import Foundation
import WorkerBeeModels
import WorkerBeeWire

/// The calls a caller makes on ``ModelPools``: each loads the model it needs through
/// ``ModelPools/withPool(for:kind:keepAlive:_:)`` and runs on that model's pool.
extension ModelPools {
    /// Embeds with the model the options name (nil: the template's embedding model), loading it
    /// first if needed; see ``WorkerPool/embed(_:options:)``.
    /// - Parameter keepAlive: how long the model stays loaded after this call.
    public func embed(_ input: EmbedInput, options: EmbedOptions = EmbedOptions(), keepAlive: KeepAlive = .standard) async throws -> Embeddings {
        try await withPool(for: options.model ?? template.models.embedding, kind: .embedding, keepAlive: keepAlive) { pool in
            var options = options
            options.model = nil  // the pool's own model
            return try await pool.embed(input, options: options)
        }
    }

    /// Scores each document against `query` with the reranker the options name (nil: the
    /// template's embedding model), loading it first if needed; see
    /// ``WorkerPool/rerank(_:documents:options:)``.
    public func rerank(_ query: String, documents: [String], options: RerankOptions = RerankOptions(), keepAlive: KeepAlive = .standard) async throws -> Rerankings {
        try await rerank(queries: Array(repeating: query, count: documents.count), documents: documents, options: options, keepAlive: keepAlive)
    }

    /// Scores pair `i` = (`queries[i]`, `documents[i]`), as ``rerank(_:documents:options:keepAlive:)``.
    package func rerank(queries: [String], documents: [String], options: RerankOptions = RerankOptions(), keepAlive: KeepAlive = .standard) async throws -> Rerankings {
        try await withPool(for: options.model ?? template.models.embedding, kind: .embedding, keepAlive: keepAlive) { pool in
            var options = options
            options.model = nil  // the pool's own model
            return try await pool.rerank(queries: queries, documents: documents, options: options)
        }
    }

    /// Reads the text in an image; a vision engine's model is loaded as ``embed(_:options:keepAlive:)``
    /// loads an embedding model (Tesseract needs no model and runs on the template's vision
    /// model's workers, or the embedding model's when there is none).
    public func readText(in image: Data, engine: OCREngine = .vision(), keepAlive: KeepAlive = .standard) async throws -> TextReading {
        switch engine {
        case .vision(var options):
            guard let model = options.model ?? template.models.vision else {
                throw WorkerError(.visionDisabled, "no vision model is configured or named; vision OCR is off")
            }
            options.model = nil
            let engine = OCREngine.vision(options)
            return try await withPool(for: model, kind: .vision, keepAlive: keepAlive) { try await $0.readText(in: image, engine: engine) }
        case .tesseract:
            let (model, kind) = template.models.vision.map { ($0, ModelKind.vision) } ?? (template.models.embedding, .embedding)
            return try await withPool(for: model, kind: kind, keepAlive: keepAlive) { try await $0.readText(in: image, engine: engine) }
        }
    }
}
