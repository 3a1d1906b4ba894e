import Synchronization
import WorkerBee

/// One ``EmbeddingBatcher`` per model that requests name besides the default one, made on
/// first use; each batch loads its model through the server's ``ModelPools`` if it is not
/// loaded, and restarts its keep-alive.
final class ModelBatchers: Sendable {
    private let models: ModelPools
    private let limits: EmbeddingBatcher.Limits
    private let metrics: ServerMetrics
    private let batchers = Mutex<[ModelReference: EmbeddingBatcher]>([:])

    init(models: ModelPools, limits: EmbeddingBatcher.Limits, metrics: ServerMetrics) {
        self.models = models
        self.limits = limits
        self.metrics = metrics
    }

    /// The batcher for `model`.
    func batcher(for model: ModelReference) -> EmbeddingBatcher {
        batchers.withLock { batchers in
            if let batcher = batchers[model] { return batcher }
            let batcher = EmbeddingBatcher(models: models, model: model, limits: limits, observer: metrics.batcherObserver(model: model.description))
            batchers[model] = batcher
            return batcher
        }
    }
}
