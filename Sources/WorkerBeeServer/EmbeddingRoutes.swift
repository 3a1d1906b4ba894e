import Foundation
import GGUF
import HTTPTypes
import Hummingbird
import NIOCore
import WorkerBee
import WorkerBeeWire
import WorkerBeeModels

/// The handlers of every route, independent of the router that calls them: OpenAI's
/// `/v1/embeddings` and `/v1/models`, Ollama's `/api/embed`, `/api/embeddings` and `/api/tags`,
/// and WorkerBee's own `/tokenize`, `/health`, `/ready` and `/metrics`.
struct EmbeddingRoutes: Sendable {
    /// The default model's workers.
    let pool: WorkerPool
    /// The default model's batcher.
    let batcher: EmbeddingBatcher
    /// The other models requests name, loaded on demand.
    let models: ModelPools
    /// Their batchers.
    let batchers: ModelBatchers
    /// Every model's prompts.
    let prompts: PromptBook
    let configuration: ServerConfiguration
    let metrics: ServerMetrics
    let readiness: Readiness
    let catalog: ModelCatalog

    /// The header saying how many inputs were cut to fit the model's context.
    static let truncatedHeader = HTTPField.Name("X-Truncated-Inputs")!

    // MARK: - OpenAI

    /// `POST /v1/embeddings`, as OpenAI documents it.
    func openAIEmbeddings(_ body: ByteBuffer) async throws -> Response {
        let request = try RequestBodies.decode(RequestBodies.OpenAIEmbeddings.self, from: body)
        let model = try resolveModel(request.model)
        let format = request.encodingFormat ?? "float"
        guard format == "float" || format == "base64" else {
            throw APIError.badRequest("encoding_format must be \"float\" or \"base64\"", param: "encoding_format")
        }
        let dimensions = try Self.dimensions(request.dimensions)
        let normalize = request.normalize ?? true
        guard let input = request.input else { throw APIError.badRequest("input is required", param: "input") }
        guard input.count > 0 else { throw APIError.badRequest("input is an empty list", param: "input") }
        try checkCount(input.count)
        let answer: EmbeddingBatcher.Answer
        switch input {
        case .texts(let texts):
            let prompt = try promptText(model: model, name: request.promptName, inputType: request.inputType)
            answer = try await embed(
                prompt.isEmpty ? texts : texts.map { prompt + $0 }, model: model, normalize: normalize,
                truncation: try Self.truncation(request.truncationDirection))
        case .tokens(let tokens):
            guard request.promptName == nil, request.inputType == nil else {
                throw APIError.badRequest("prompt_name and input_type apply to text inputs, not token ids", param: request.promptName != nil ? "prompt_name" : "input_type")
            }
            guard try Self.truncation(request.truncationDirection) == .end else {
                throw APIError.badRequest("token ids are always cut at the end; truncation_direction left applies to text inputs", param: "truncation_direction")
            }
            metrics.counter("workerbee_model_requests_total", model: model ?? configuration.modelName).increment()
            RequestTracingMiddleware.record(model: model ?? configuration.modelName, inputs: tokens.count)
            guard tokens.allSatisfy({ !$0.isEmpty }) else { throw APIError.badRequest("a token list is empty", param: "input") }
            guard tokens.allSatisfy({ $0.allSatisfy { $0 >= 0 } }) else { throw APIError.badRequest("token ids cannot be negative", param: "input") }
            try checkReady()
            do {
                let input = EmbedInput.tokens(tokens)
                let options = EmbedOptions(normalize: normalize)
                let result = if let model {
                    try await models.withPool(for: ModelReference(model)) { try await $0.embed(input, options: options) }
                } else {
                    try await pool.embed(input, options: options)
                }
                answer = EmbeddingBatcher.Answer(vectors: result.vectors, tokenCounts: result.tokenCounts, truncated: result.truncated)
            } catch let error as WorkerError where error.code == .invalidInput {
                throw APIError.badRequest(error.message, param: "input")
            }
        }
        let vectors = try answer.vectors.map { try Self.shorten($0, to: dimensions, normalize: normalize) }
        var out: [UInt8] = []
        out.reserveCapacity(vectors.count * (vectors.first?.count ?? 0) * 12 + 200)
        out.append(contentsOf: #"{"object":"list","data":["#.utf8)
        for (index, vector) in vectors.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"object":"embedding","index":\#(index),"embedding":"#.utf8)
            if format == "base64" { JSONResponse.appendBase64(vector, to: &out) } else { JSONResponse.append(vector, to: &out) }
            out.append(UInt8(ascii: "}"))
        }
        let tokens = answer.tokenCounts.reduce(0, +)
        out.append(contentsOf: #"],"model":"#.utf8)
        JSONResponse.append(string: request.model ?? configuration.modelName, to: &out)
        out.append(contentsOf: #","usage":{"prompt_tokens":\#(tokens),"total_tokens":\#(tokens)}}"#.utf8)
        return JSONResponse.make(bytes: out, headers: [Self.truncatedHeader: "\(answer.truncated.filter { $0 }.count)"])
    }

    /// `GET /v1/models`: the models that can embed and the rerankers, in OpenAI's list shape;
    /// `task` says which (`embed` or `rerank`), `loaded` which are in workers now (the default
    /// model always).
    func openAIModels() async -> Response {
        let loaded = Set(await models.loaded().map(\.model.description)).union([configuration.modelName])
        let data = (catalog.embeddingModels() + catalog.rerankers()).map { model -> [String: Any] in
            [
                "id": model.name, "object": "model", "created": Int(model.modified.timeIntervalSince1970), "owned_by": "workerbee",
                "loaded": loaded.contains(model.name), "task": model.isReranker ? "rerank" : "embed",
            ]
        }
        return JSONResponse.make(["object": "list", "data": data])
    }

    // MARK: - Helpers

    /// Embeds with the default model (nil) or another model, batched with other requests for
    /// the same model; `keepAlive` then applies to that other model.
    func embed(
        _ texts: [String], model: String?, keepAlive: ModelPools.KeepAlive? = nil, normalize: Bool = true, truncation: EmbedOptions.Truncation = .end
    ) async throws -> EmbeddingBatcher.Answer {
        try checkReady()
        try checkCount(texts.count)
        metrics.counter("workerbee_model_requests_total", model: model ?? configuration.modelName).increment()
        RequestTracingMiddleware.record(model: model ?? configuration.modelName, inputs: texts.count)
        do {
            guard let model else { return try await batcher.embed(texts, model: nil, normalize: normalize, truncation: truncation) }
            let reference = ModelReference(model)
            // As Ollama: each request's keep_alive (or the default when it has none) holds from it on.
            await models.setKeepAlive(keepAlive ?? .standard, for: reference, now: false)
            return try await batchers.batcher(for: reference).embed(texts, model: nil, normalize: normalize, truncation: truncation)
        } catch is EmbeddingBatcher.QueueFull {
            var error = APIError(.tooManyRequests, "the server's queue is full; retry shortly", type: "rate_limit_error", code: "queue_full")
            error.retryAfter = 1
            throw error
        }
    }

    func checkReady() throws {
        if let refusal = readiness.refusal {
            var error = APIError(.serviceUnavailable, refusal, type: "server_error", code: "not_ready")
            error.retryAfter = 1
            throw error
        }
    }

    /// The prompt a request asks for on `model` (nil: the default model); "" for none.
    func promptText(model: String?, name: String?, inputType: String?) throws -> String {
        try prompts.text(for: model.map { ModelReference($0) } ?? pool.configuration.models.embedding, name: name, inputType: inputType)
    }

    func checkCount(_ count: Int) throws {
        if count > configuration.maxInputs {
            throw APIError(.contentTooLarge, "\(count) inputs is more than the \(configuration.maxInputs) one request may hold", param: "input", code: "too_many_inputs")
        }
    }

    /// nil for the server's default model, or the name of another model in the models folder.
    func resolveModel(_ name: String?) throws -> String? {
        guard let name else { return nil }
        let bare = name.hasSuffix(":latest") ? String(name.dropLast(7)) : name
        if bare.isEmpty || bare == configuration.modelName { return nil }
        guard !ModelDirectory.isPath(bare) else {
            throw APIError(.notFound, "the model \(name) does not exist; GET /v1/models lists the models", param: "model", code: "model_not_found")
        }
        if catalog.entry(named: bare) != nil { return bare }
        if let why = catalog.whyCannotEmbed(bare) {
            throw APIError(.badRequest, "the model \(name) exists, but \(why)", param: "model", code: "model_cannot_embed")
        }
        throw APIError(.notFound, "the model \(name) does not exist; GET /v1/models lists the models", param: "model", code: "model_not_found")
    }

    /// TEI's `truncation_direction`: `right` (or none) cuts the end, `left` the start.
    static func truncation(_ value: String?) throws -> EmbedOptions.Truncation {
        switch value?.lowercased() {
        case nil, "right": return .end
        case "left": return .start
        default: throw APIError.badRequest("truncation_direction must be \"right\" (cut the end) or \"left\" (cut the start)", param: "truncation_direction")
        }
    }

    static func dimensions(_ value: Int?) throws -> Int? {
        guard let value else { return nil }
        guard value > 0 else { throw APIError.badRequest("dimensions must be a positive integer", param: "dimensions") }
        return value
    }

    /// The first `dimensions` components, L2-normalised again unless `normalize` is false.
    static func shorten(_ vector: [Float], to dimensions: Int?, normalize: Bool = true) throws -> [Float] {
        guard let dimensions else { return vector }
        guard dimensions <= vector.count else {
            throw APIError.badRequest("dimensions is \(dimensions), but the model makes \(vector.count)-dimensional vectors", param: "dimensions")
        }
        var head = Array(vector.prefix(dimensions))
        guard normalize else { return head }
        let norm = head.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
        if norm > 0 { head = head.map { Float(Double($0) / norm) } }
        return head
    }
}
