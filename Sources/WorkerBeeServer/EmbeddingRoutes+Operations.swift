import Foundation
import GGUF
import HTTPTypes
import Hummingbird
import NIOCore
import WorkerBee
import WorkerBeeWire
import WorkerBeeModels

/// WorkerBee's own routes for operators: tokenization, health, readiness and metrics.
extension EmbeddingRoutes {
    /// `POST /tokenize`: `{"content": "text"}` (or `"text"`) in, `{"tokens": [...], "count": n}` out.
    func tokenize(_ body: ByteBuffer) async throws -> Response {
        let request = try RequestBodies.decode(RequestBodies.Tokenize.self, from: body)
        guard let text = request.content ?? request.text else {
            throw APIError.badRequest("send {\"content\": \"some text\"}", param: "content")
        }
        let model = try resolveModel(request.model)
        try checkReady()
        let tokens = if let model {
            try await models.withPool(for: ModelReference(model)) { try await $0.tokenize([text]) }[0]
        } else {
            try await pool.tokenize([text])[0]
        }
        return JSONResponse.make(["tokens": tokens.map(Int.init), "count": tokens.count])
    }

    /// `GET /health`: the process answers.
    func health() -> Response { JSONResponse.make(["status": "ok"]) }

    /// `GET /ready`: 200 when a worker is up and the model loads; 503 with the reason otherwise.
    func ready() -> Response {
        if let refusal = readiness.refusal {
            return JSONResponse.make(["status": "unavailable", "reason": refusal], status: .serviceUnavailable)
        }
        return JSONResponse.make(["status": "ready"])
    }

    /// `GET /metrics`: Prometheus text format.
    func metricsText() async -> Response {
        metrics.modelsLoaded.record(1 + (await models.loaded().count))
        // Each model's workers since it was loaded: spawns and losses.
        var perModel = await models.statistics()
        perModel[ModelReference(configuration.modelName)] = await pool.statistics
        for (model, statistics) in perModel {
            metrics.gauge("workerbee_model_worker_spawns", model: model.description).record(statistics.spawns)
            metrics.gauge("workerbee_model_worker_losses", model: model.description).record(statistics.losses + statistics.restarts)
        }
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: metrics.render())))
    }
}
