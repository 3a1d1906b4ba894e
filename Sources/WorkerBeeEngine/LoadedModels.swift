import Dispatch
import Foundation
import WorkerBeeModels
import WorkerBeeWire

/// The models a worker holds: one embedding model and one vision model at a time, loaded on
/// first use by name and kept until another name is asked for (the old one is freed first).
struct LoadedModels {
    let settings: WorkerSettings
    var embedding: (name: String, model: EmbeddingModel)?
    var vision: (key: String, model: VisionModel)?
    /// The vision model a load-model request named, used by vision requests that name none.
    var visionModelName: String?

    init(settings: WorkerSettings) {
        self.settings = settings
    }

    /// Frees the model of `kind`.
    mutating func unload(_ kind: ModelKind) {
        switch kind {
        case .embedding: embedding = nil
        case .vision: vision = nil
        }
    }

    /// Frees every model.
    mutating func unloadAll() {
        embedding = nil
        vision = nil
    }

    mutating func embeddingModel(named name: String) throws -> EmbeddingModel {
        if let embedding, embedding.name == name { return embedding.model }
        embedding = nil  // free the old model before loading the next
        let url = ModelDirectory(url: URL(fileURLWithPath: settings.modelsDirectory)).resolve(name)
        let start = DispatchTime.now()
        let options = EmbeddingModel.Options(
            threads: settings.threads, contextSize: settings.contextSize, batchTokens: settings.batchTokens ?? EmbeddingModel.Options().batchTokens,
            gpuLayers: settings.gpuLayers, batchInvariant: settings.batchInvariant)
        // The two marker lines bracket the load and a one-text probe decode: if the worker dies
        // between them, the host knows the model itself crashed llama.cpp (ModelLoadMarker).
        let pid = getpid()
        log(ModelLoadMarker.loading(url.path, pid: pid))
        let model: EmbeddingModel
        do {
            model = try EmbeddingModel(url: url, options: options)
            _ = model.isReranker ? try model.rerank(queries: ["probe"], documents: ["probe"]) : try model.embed(["probe"])
        } catch {
            log(ModelLoadMarker.failed(url.path, pid: pid))
            throw error
        }
        let ms = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
        log(ModelLoadMarker.ready(url.path, pid: pid))
        log(String(format: "loaded and probed \(model.isReranker ? "reranker" : "embedding model") %@ (%@, dim %d, %d threads, batch-invariant %@) in %.1f ms", name, url.path, model.dimension, model.threads,
                   model.batchInvariant ? (model.packsUnderTiledAttention ? "yes, small micro-batches" : "yes") : "no", ms))
        embedding = (name, model)
        return model
    }

    mutating func visionModel(named name: String, projector: String) throws -> VisionModel {
        let directory = ModelDirectory(url: URL(fileURLWithPath: settings.modelsDirectory))
        let modelURL = directory.resolve(name)
        guard FileManager.default.fileExists(atPath: modelURL.path) else {
            throw EngineError(.modelNotFound, "vision model \(name) does not exist (looked for \(modelURL.path))")
        }
        let projectorURL = try ProjectorLocator.projector(for: modelURL, explicit: projector.isEmpty ? directory.storedProjector(for: name)?.path : projector)
        let key = modelURL.path + "\n" + projectorURL.path
        if let vision, vision.key == key { return vision.model }
        vision = nil  // free the old model before loading the next
        let start = DispatchTime.now()
        let model = try VisionModel(model: modelURL, projector: projectorURL, options: .init(threads: settings.threads, contextSize: settings.contextSize ?? 4096, gpuLayers: settings.gpuLayers))
        let ms = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
        log(String(format: "loaded vision model %@ with projector %@ (%@) in %.1f ms", modelURL.path, projectorURL.path, model.projectorType, ms))
        vision = (key, model)
        return model
    }

    private func log(_ message: String) { WorkerLog.write(message) }
}
