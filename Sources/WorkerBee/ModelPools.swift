import Foundation
import Logging
import WorkerBeeModels
import WorkerBeeWire

/// Several models, each served by a ``WorkerPool`` of its own, loaded on first use and unloaded
/// when they have been idle for their keep-alive: what one process needs to serve every model a
/// retrieval pipeline uses (documents and queries, a second embedding model during a migration,
/// a vision model for scanned pages) without one server per model. Each model's workers crash,
/// restart and retry alone.
///
/// A call names its model (``EmbedOptions/model``, the vision options' model); nil means the
/// template configuration's model. What is loaded is bounded by ``Limits``: when a load does not
/// fit, the least recently used idle models are unloaded first; a call that finds no idle model
/// to make room waits (it is not failed) until one becomes idle, or until its task is cancelled.
///
/// ```swift
/// let models = ModelPools(configuration: WorkerConfiguration(), limits: .init(keepAlive: .seconds(300)))
/// let documents = try await models.embed(.texts(chunks), options: EmbedOptions(model: "e5-small"))
/// let queries = try await models.embed(.texts(questions), options: EmbedOptions(model: "bge-small"))
/// await models.stop()
/// ```
public actor ModelPools {
    /// How much may stay loaded, and for how long.
    public struct Limits: Sendable, Equatable {
        /// How long a model stays loaded after its last call (default 5 minutes, as Ollama);
        /// nil keeps models until they are unloaded.
        public var keepAlive: Duration?
        /// Most models loaded at once; nil means no limit.
        public var maxLoadedModels: Int?
        /// Most bytes of models loaded at once; nil means no limit. A model counts its file size
        /// once per worker process (each process maps and touches the weights).
        public var memoryBudget: Int?

        /// Limits with the defaults described on each property.
        public init(keepAlive: Duration? = .seconds(300), maxLoadedModels: Int? = nil, memoryBudget: Int? = nil) {
            self.keepAlive = keepAlive
            self.maxLoadedModels = maxLoadedModels
            self.memoryBudget = memoryBudget
        }
    }

    /// How long a model stays loaded after a call, as the call asks (Ollama's `keep_alive`).
    public enum KeepAlive: Sendable, Equatable {
        /// The ``Limits/keepAlive`` default.
        case standard
        /// This long after the call (zero: unload as soon as the call ends).
        case duration(Duration)
        /// Until unloaded.
        case forever
    }

    /// A loaded model, as `/api/ps` shows it.
    public struct LoadedModel: Sendable, Equatable {
        /// The model.
        public var model: ModelReference
        /// What it serves.
        public var kind: ModelKind
        /// The bytes it counts against the memory budget.
        public var size: Int
        /// Calls in progress.
        public var activeCalls: Int
        /// When it is unloaded if no call comes; nil while calls are in progress or when it is
        /// kept until unloaded.
        public var expiresAt: ContinuousClock.Instant?
        /// When its last call ended (or its first began).
        public var lastUsed: ContinuousClock.Instant
    }

    private struct Key: Hashable {
        let model: ModelReference
        let kind: ModelKind
    }

    private struct Entry {
        let pool: WorkerPool
        let size: Int
        var activeCalls = 0
        var lastUsed: ContinuousClock.Instant = .now
        var keepAlive: KeepAlive = .standard
        var expiresAt: ContinuousClock.Instant?
        /// Bumped on every use, so that a keep-alive timer of an earlier idle period does nothing.
        var generation = 0
        /// The keep-alive timer of the current idle period.
        var timer: Task<Void, Never>?
    }

    /// The configuration each model's workers are made from (its model fields are replaced).
    public nonisolated let template: WorkerConfiguration
    /// Worker processes per model.
    public nonisolated let processesPerModel: Int
    /// The bounds on what is loaded.
    public nonisolated let limits: Limits
    private let processes: Int?
    private let threadsPerProcess: Int?
    private let logger: Logger
    private var entries: [Key: Entry] = [:]
    /// Calls waiting for room, resumed whenever a model becomes idle or is unloaded.
    private var roomWaiters: [UUID: CheckedContinuation<Void, Never>] = [:]
    private var stopped = false
    /// Models being unloaded: their workers still hold memory until they have stopped, so they
    /// count against the limits, and the same model is not loaded again meanwhile.
    private var stopping: [Key: Int] = [:]
    /// Keep-alives asked for models that are not loaded yet, applied when they load.
    private var requestedKeepAlive: [Key: KeepAlive] = [:]

    /// Creates the registry; nothing loads until the first call.
    /// - Parameters:
    ///   - configuration: the template for every model's workers.
    ///   - processes: workers per model (default: ``WorkerPool``'s default).
    ///   - threadsPerProcess: threads per worker (default: ``WorkerPool``'s default).
    ///   - limits: how much may stay loaded, and for how long.
    public init(
        configuration: WorkerConfiguration = WorkerConfiguration(), processes: Int? = nil, threadsPerProcess: Int? = nil, limits: Limits = Limits(),
        logger: Logger = Logger(label: "workerbee.model-pools")
    ) {
        template = configuration
        processesPerModel = max(1, processes ?? WorkerPool.defaultProcessCount())
        self.processes = processes
        self.threadsPerProcess = threadsPerProcess
        self.limits = limits
        self.logger = logger
    }

    /// Runs `body` with the pool serving `model` as `kind`: loads it if needed (making room
    /// first), counts the call as active so the model cannot be unloaded under it, and when the
    /// call ends starts its keep-alive.
    /// - Throws: `CancellationError` when the task is cancelled while it waits for room;
    ///   ``WorkerError`` `.stopped` after ``stop()``; what `body` throws.
    public func withPool<T: Sendable>(
        for model: ModelReference, kind: ModelKind = .embedding, keepAlive: KeepAlive = .standard, _ body: (WorkerPool) async throws -> T
    ) async throws -> T {
        let key = Key(model: model, kind: kind)
        let pool = try await acquire(key, keepAlive: keepAlive)
        do {
            let value = try await body(pool)
            await release(key)
            return value
        } catch {
            await release(key)
            throw error
        }
    }

    /// What each loaded model's workers have been through since it was loaded.
    public func statistics() async -> [ModelReference: WorkerStatistics] {
        var all: [ModelReference: WorkerStatistics] = [:]
        for (key, entry) in entries { all[key.model] = await entry.pool.statistics }
        return all
    }

    /// Calls waiting for room (for tests).
    var callsWaitingForRoom: Int { roomWaiters.count }

    /// The loaded models, most recently used first.
    public func loaded() -> [LoadedModel] {
        entries.map { key, entry in
            LoadedModel(model: key.model, kind: key.kind, size: entry.size, activeCalls: entry.activeCalls, expiresAt: entry.expiresAt, lastUsed: entry.lastUsed)
        }.sorted { $0.lastUsed > $1.lastUsed }
    }

    /// Unloads `model` now if no call is using it (its workers are stopped and their memory
    /// returned); a model in use is unloaded when its last call ends.
    public func unload(_ model: ModelReference, kind: ModelKind = .embedding) async {
        let key = Key(model: model, kind: kind)
        guard var entry = entries[key] else { return }
        if entry.activeCalls > 0 {
            entry.keepAlive = .duration(.zero)
            entries[key] = entry
            return
        }
        await remove(key, reason: "unloaded on request")
    }

    /// Sets how long `model` stays loaded after its calls from now on (Ollama's `keep_alive`
    /// on a request; ``KeepAlive/standard`` goes back to the default); a model that is idle now
    /// starts that keep-alive at once (zero unloads it). For a model that is not loaded, it
    /// applies when it loads.
    /// - Parameter now: start the keep-alive of an idle model at once (false: only record it,
    ///   for a call about to use the model).
    public func setKeepAlive(_ keepAlive: KeepAlive, for model: ModelReference, kind: ModelKind = .embedding, now: Bool = true) async {
        let key = Key(model: model, kind: kind)
        guard var entry = entries[key] else {
            requestedKeepAlive[key] = keepAlive == .standard ? nil : keepAlive
            return
        }
        entry.keepAlive = keepAlive
        guard now, entry.activeCalls == 0 else {
            entries[key] = entry
            return
        }
        // Idle: start the keep-alive over as if its last call had just ended.
        entry.activeCalls = 1
        entries[key] = entry
        await release(key)
    }

    /// Unloads every model and refuses calls from now on.
    public func stop() async {
        stopped = true
        while let key = entries.keys.first { await remove(key, reason: "stopping") }
        wakeRoomWaiters()
        // Wait for the workers to be stopped (they stop anyway; a cancelled caller does not wait).
        while !stopping.isEmpty, !Task.isCancelled { await waitForRoom() }
    }

    // MARK: - Loading and unloading

    private func acquire(_ key: Key, keepAlive: KeepAlive) async throws -> WorkerPool {
        while true {
            if stopped { throw WorkerError(.stopped, "the model registry was stopped") }
            try Task.checkCancellation()
            if var entry = entries[key] {
                entry.activeCalls += 1
                entry.generation += 1
                entry.expiresAt = nil
                entry.timer?.cancel()
                entry.timer = nil
                if keepAlive != .standard { entry.keepAlive = keepAlive }
                entries[key] = entry
                return entry.pool
            }
            if stopping[key] != nil {
                // Its workers are still stopping: wait for them rather than load a second copy.
                await waitForRoom()
                continue
            }
            let size = cost(of: key)
            if try await makeRoom(for: size) {
                // makeRoom may have suspended: another call may have loaded the model meanwhile,
                // or the registry may have been stopped.
                if stopped { throw WorkerError(.stopped, "the model registry was stopped") }
                if entries[key] != nil || stopping[key] != nil { continue }
                var configuration = template
                switch key.kind {
                case .embedding:
                    configuration.models.embedding = key.model
                    // The template's expected dimension belongs to its own model.
                    if key.model != template.models.embedding { configuration.models.embeddingDimension = nil }
                case .vision:
                    configuration.models.vision = key.model
                    // The template's projector belongs to its own vision model.
                    if key.model != template.models.vision { configuration.models.visionProjector = nil }
                }
                let pool = WorkerPool(configuration: configuration, processes: processes, threadsPerProcess: threadsPerProcess, logger: logger)
                let asked = keepAlive != .standard ? keepAlive : requestedKeepAlive.removeValue(forKey: key) ?? .standard
                entries[key] = Entry(pool: pool, size: size, activeCalls: 1, keepAlive: asked)
                logger.info("loading \(key.kind) model \(key.model) (\(pool.size) worker(s), \(size >> 20) MiB against the budget)")
                return pool
            }
            await waitForRoom()
        }
    }

    private func release(_ key: Key) async {
        guard var entry = entries[key] else { return }
        entry.activeCalls -= 1
        entry.lastUsed = .now
        guard entry.activeCalls == 0 else {
            entries[key] = entry
            return
        }
        entry.generation += 1
        let keep: Duration?
        switch entry.keepAlive {
        case .standard: keep = limits.keepAlive
        case .duration(let duration): keep = duration
        case .forever: keep = nil
        }
        if let keep, keep <= .zero {
            entries[key] = entry
            await remove(key, reason: "keep-alive 0")
            return
        }
        entry.timer?.cancel()
        entry.timer = nil
        entry.expiresAt = nil
        if let keep {
            entry.expiresAt = .now.advanced(by: keep)
            let generation = entry.generation
            entry.timer = Task { [weak self] in
                guard (try? await Task.sleep(for: keep)) != nil else { return }
                await self?.expire(key, generation: generation)
            }
        }
        entries[key] = entry
        wakeRoomWaiters()
    }

    private func expire(_ key: Key, generation: Int) async {
        guard let entry = entries[key], entry.generation == generation, entry.activeCalls == 0 else { return }
        await remove(key, reason: "idle for its keep-alive")
    }

    /// Unloads a model: its entry goes at once, its workers stop in the background while their
    /// memory still counts (``stopping``), so that no caller waits for a shutdown it did not ask for.
    private func remove(_ key: Key, reason: String) async {
        guard let entry = entries.removeValue(forKey: key) else { return }
        entry.timer?.cancel()
        logger.info("unloading \(key.kind) model \(key.model): \(reason)")
        stopping[key, default: 0] += entry.size
        Task {
            await entry.pool.stop()
            await self.stopped(key, size: entry.size)
        }
    }

    private func stopped(_ key: Key, size: Int) {
        stopping[key, default: 0] -= size
        if stopping[key] ?? 0 <= 0 { stopping[key] = nil }
        wakeRoomWaiters()
    }

    /// Unloads least recently used idle models until a model of `size` fits.
    /// - Returns: false if it does not fit and no idle model is left to unload (wait, then try
    ///   again); true when it fits (a model larger than the whole budget fits once nothing else
    ///   is loaded).
    private func makeRoom(for size: Int) async throws -> Bool {
        while !fits(size) {
            // A model larger than the whole budget fits once nothing else is loaded or stopping.
            guard !entries.isEmpty || !stopping.isEmpty else { return true }
            let idle = entries.filter { $0.value.activeCalls == 0 }.min { $0.value.lastUsed < $1.value.lastUsed }
            guard let (key, _) = idle else { return false }
            await remove(key, reason: "making room")
            if !fits(size) { return false }  // wait for the workers being stopped
            try Task.checkCancellation()
        }
        return true
    }

    private func fits(_ size: Int) -> Bool {
        if let most = limits.maxLoadedModels, entries.count + stopping.count + 1 > most { return false }
        if let budget = limits.memoryBudget,
           entries.values.reduce(0, { $0 + $1.size }) + stopping.values.reduce(0, +) + size > budget { return false }
        return true
    }

    /// The bytes a model counts against the budget: its file's size once per worker.
    private func cost(of key: Key) -> Int {
        ModelDirectory(url: template.models.directory).fileSize(of: key.model) * processesPerModel
    }

    private func waitForRoom() async {
        let id = UUID()
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if Task.isCancelled {
                    continuation.resume()
                } else {
                    roomWaiters[id] = continuation
                }
            }
        } onCancel: {
            Task { await self.wakeWaiter(id) }
        }
    }

    private func wakeWaiter(_ id: UUID) {
        roomWaiters.removeValue(forKey: id)?.resume()
    }

    private func wakeRoomWaiters() {
        let waiters = roomWaiters
        roomWaiters = [:]
        for continuation in waiters.values { continuation.resume() }
    }
}
