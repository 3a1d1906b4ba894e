import CoreMetrics
import Foundation
import Metrics
import Prometheus
import Synchronization
import WorkerBee

/// The server's metrics, through swift-metrics into a Prometheus registry the server owns (so
/// several servers in one process, as in tests, keep their own figures).
final class ServerMetrics: Sendable {
    /// Where the figures live; `/metrics` renders it.
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let timers = Mutex<[String: Metrics.Timer]>([:])
    private let counters = Mutex<[String: CoreMetrics.Counter]>([:])
    private let gauges = Mutex<[String: CoreMetrics.Gauge]>([:])
    private let recorders = Mutex<[String: CoreMetrics.Recorder]>([:])
    /// Each model's queued texts, so that the server-wide gauge is their sum.
    private let queuedByModel = Mutex<[String: Int]>([:])

    let queueDepth: CoreMetrics.Gauge
    let queueWait: Metrics.Timer
    let batchTexts: CoreMetrics.Recorder
    let batchTokens: CoreMetrics.Recorder
    let tokensEmbedded: CoreMetrics.Counter
    let workerSpawns: CoreMetrics.Counter
    let retries: CoreMetrics.Counter
    /// Models in workers now, the default one included.
    let modelsLoaded: CoreMetrics.Gauge

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultValueHistogramBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192]
        self.factory = factory
        queueDepth = CoreMetrics.Gauge(label: "workerbee_queue_texts", factory: factory)
        queueWait = Metrics.Timer(label: "workerbee_queue_wait_seconds", factory: factory)
        batchTexts = CoreMetrics.Recorder(label: "workerbee_batch_texts", aggregate: true, factory: factory)
        batchTokens = CoreMetrics.Recorder(label: "workerbee_batch_tokens", aggregate: true, factory: factory)
        tokensEmbedded = CoreMetrics.Counter(label: "workerbee_tokens_embedded_total", factory: factory)
        workerSpawns = CoreMetrics.Counter(label: "workerbee_worker_spawns_total", factory: factory)
        retries = CoreMetrics.Counter(label: "workerbee_retries_total", factory: factory)
        modelsLoaded = CoreMetrics.Gauge(label: "workerbee_models_loaded", factory: factory)
    }

    /// Counts a finished request and records its duration.
    func request(route: String, status: Int, duration: Duration) {
        let key = "\(route) \(status)"
        Self.cached(counters, key) {
            CoreMetrics.Counter(label: "workerbee_requests_total", dimensions: [("route", route), ("status", "\(status)")], factory: factory)
        }.increment()
        Self.cached(timers, route) { Metrics.Timer(label: "workerbee_request_duration_seconds", dimensions: [("route", route)], factory: factory) }
            .record(duration: duration)
    }

    /// Counts a lost worker by how it ended.
    func workerLost(_ status: ExitStatus) {
        let reason: String
        switch status {
        case .signaled(let signal): reason = "signal_\(signal)"
        case .exited(let code): reason = "exit_\(code)"
        }
        let key = "lost \(reason)"
        Self.cached(counters, key) { CoreMetrics.Counter(label: "workerbee_worker_losses_total", dimensions: [("reason", reason)], factory: factory) }
            .increment()
    }

    /// Follows a worker's events into the spawn, loss and retry counters, until cancelled.
    func follow(_ worker: WorkerProcess) async {
        for await event in await worker.events() {
            switch event {
            case .spawned: workerSpawns.increment()
            case .lost(_, let status, _): workerLost(status)
            case .retrying: retries.increment()
            default: break
            }
        }
    }

    /// The Prometheus text format.
    func render() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }

    /// The metric `key` names in `store`, made by `make` on first use.
    private static func cached<Metric: Sendable>(_ store: borrowing Mutex<[String: Metric]>, _ key: String, make: () -> Metric) -> Metric {
        store.withLock { store in
            if let metric = store[key] { return metric }
            let metric = make()
            store[key] = metric
            return metric
        }
    }

    /// A gauge of `label` for one model, made on first use.
    func gauge(_ label: String, model: String) -> CoreMetrics.Gauge {
        Self.cached(gauges, label + " " + model) { CoreMetrics.Gauge(label: label, dimensions: [("model", model)], factory: factory) }
    }

    /// A counter of `label` for one model, made on first use.
    func counter(_ label: String, model: String) -> CoreMetrics.Counter {
        Self.cached(counters, label + " " + model) { CoreMetrics.Counter(label: label, dimensions: [("model", model)], factory: factory) }
    }

    private func recorder(_ label: String, model: String) -> CoreMetrics.Recorder {
        Self.cached(recorders, label + " " + model) {
            CoreMetrics.Recorder(label: label, dimensions: [("model", model)], aggregate: true, factory: factory)
        }
    }

    /// Feeds one model's batcher into these metrics: the server-wide figures (the queue gauge is
    /// the sum over models) and the model's own (`workerbee_model_queue_texts`,
    /// `workerbee_model_batch_texts`, `workerbee_model_tokens_embedded_total`, labelled `model`).
    func batcherObserver(model: String) -> EmbeddingBatcher.Observer {
        var observer = EmbeddingBatcher.Observer()
        let (queueDepth, queueWait, batchTexts, batchTokens, tokensEmbedded) = (self.queueDepth, self.queueWait, self.batchTexts, self.batchTokens, self.tokensEmbedded)
        let (modelQueue, modelBatch, modelTokens) = (
            gauge("workerbee_model_queue_texts", model: model), recorder("workerbee_model_batch_texts", model: model),
            counter("workerbee_model_tokens_embedded_total", model: model))
        observer.queueDepth = { [self] depth in
            let total = self.queuedByModel.withLock { queued in
                queued[model] = depth
                return queued.values.reduce(0, +)
            }
            queueDepth.record(total)
            modelQueue.record(depth)
        }
        observer.queueWait = { queueWait.record(duration: $0) }
        observer.batch = { texts, tokens in
            batchTexts.record(texts)
            batchTokens.record(tokens)
            modelBatch.record(texts)
        }
        observer.tokensEmbedded = {
            tokensEmbedded.increment(by: $0)
            modelTokens.increment(by: $0)
        }
        return observer
    }
}
