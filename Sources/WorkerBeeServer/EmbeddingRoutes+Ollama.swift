import Foundation
import GGUF
import HTTPTypes
import Hummingbird
import NIOCore
import WorkerBee
import WorkerBeeWire
import WorkerBeeModels

/// Ollama's embedding routes: `/api/embed`, `/api/embeddings` and the model list `/api/tags`.
extension EmbeddingRoutes {
    /// `POST /api/embed`, as Ollama documents it.
    func ollamaEmbed(_ body: ByteBuffer) async throws -> Response {
        let started = ContinuousClock.now
        let request = try RequestBodies.decode(RequestBodies.OllamaEmbed.self, from: body)
        let model = try resolveModel(request.model)
        if request.input == nil, let keepAlive = request.keep_alive?.keepAlive {
            // Ollama's load and unload request: a model and a keep_alive, no input.
            if let model { await models.setKeepAlive(keepAlive, for: ModelReference(model)) }
            return JSONResponse.make(["model": request.model ?? configuration.modelName, "embeddings": [[Double]]()])
        }
        guard case .texts(let texts) = request.input else { throw APIError.badRequest("input is required", param: "input") }
        guard !texts.isEmpty else { throw APIError.badRequest("input is empty", param: "input") }
        let dimensions = try Self.dimensions(request.dimensions)
        let prompt = try promptText(model: model, name: request.prompt_name, inputType: request.input_type)
        let answer = try await embed(
            prompt.isEmpty ? texts : texts.map { prompt + $0 }, model: model, keepAlive: request.keep_alive?.keepAlive,
            truncation: try Self.truncation(request.truncation_direction))
        let cut = answer.truncated.filter { $0 }.count
        if request.truncate == false && cut > 0 {
            throw APIError.badRequest("input length exceeds the context length (\(cut) of \(texts.count) inputs); send shorter inputs or \"truncate\": true")
        }
        var out: [UInt8] = []
        out.append(contentsOf: #"{"model":"#.utf8)
        JSONResponse.append(string: request.model ?? configuration.modelName, to: &out)
        out.append(contentsOf: #","embeddings":["#.utf8)
        for (index, vector) in answer.vectors.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONResponse.append(try Self.shorten(vector, to: dimensions), to: &out)
        }
        let elapsed = (ContinuousClock.now - started).components
        let total = elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000
        out.append(contentsOf: #"],"total_duration":\#(total),"load_duration":0,"prompt_eval_count":\#(answer.tokenCounts.reduce(0, +))}"#.utf8)
        return JSONResponse.make(bytes: out, headers: [Self.truncatedHeader: "\(cut)"])
    }

    /// `POST /api/embeddings`, Ollama's older route: one `prompt`, one `embedding`.
    func ollamaEmbeddings(_ body: ByteBuffer) async throws -> Response {
        let request = try RequestBodies.decode(RequestBodies.OllamaEmbeddings.self, from: body)
        let model = try resolveModel(request.model)
        guard let prompt = request.prompt else { throw APIError.badRequest("prompt is required", param: "prompt") }
        let modelPrompt = try promptText(model: model, name: nil, inputType: nil)
        let answer = try await embed([modelPrompt + prompt], model: model, keepAlive: request.keep_alive?.keepAlive)
        var out: [UInt8] = []
        out.append(contentsOf: #"{"embedding":"#.utf8)
        JSONResponse.append(answer.vectors[0], to: &out)
        out.append(UInt8(ascii: "}"))
        return JSONResponse.make(bytes: out, headers: [Self.truncatedHeader: "\(answer.truncated.filter { $0 }.count)"])
    }

    /// `GET /api/tags`: the models that can embed, in Ollama's shape.
    func ollamaTags() -> Response {
        let formatter = ISO8601DateFormatter()
        let models = catalog.embeddingModels().map { model -> [String: Any] in
            [
                "name": model.name, "model": model.name, "modified_at": formatter.string(from: model.modified), "size": model.size, "digest": "",
                "details": ["format": "gguf", "family": model.architecture, "families": [model.architecture], "parameter_size": "", "quantization_level": model.fileType],
            ]
        }
        return JSONResponse.make(["models": models])
    }

    /// `GET /api/ps`: the loaded models in Ollama's shape, most recently used first. The default
    /// model is loaded for the life of the server; the others until their keep-alive passes
    /// (`expires_at`; a model in use, or kept until unloaded, shows the farthest date).
    func ollamaLoaded() async -> Response {
        let formatter = ISO8601DateFormatter()
        let forever = "2262-04-11T23:47:16Z"
        func expiry(_ instant: ContinuousClock.Instant?) -> String {
            guard let instant else { return forever }
            let left = instant - .now
            return formatter.string(from: Date().addingTimeInterval(left.seconds))
        }
        let defaultSize = ModelDirectory(url: pool.configuration.models.directory).fileSize(of: pool.configuration.models.embedding) * pool.size
        var entries: [[String: Any]] = [[
            "name": configuration.modelName, "model": configuration.modelName, "size": defaultSize, "digest": "",
            "expires_at": forever, "size_vram": 0, "kind": "embedding",
        ]]
        for loaded in await models.loaded() {
            entries.append([
                "name": loaded.model.description, "model": loaded.model.description, "size": loaded.size, "digest": "",
                "expires_at": expiry(loaded.expiresAt), "size_vram": 0, "kind": "\(loaded.kind)", "active_calls": loaded.activeCalls,
            ])
        }
        return JSONResponse.make(["models": entries])
    }
}
