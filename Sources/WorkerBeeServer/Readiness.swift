import Synchronization

/// Whether the server should take work: not yet (workers starting, the model loading), ready,
/// broken (the model cannot be loaded, with why), or draining (shutting down).
final class Readiness: Sendable {
    /// Where the server stands.
    enum State: Sendable, Equatable {
        case starting
        case ready
        case broken(String)
        case draining
    }

    private struct Storage {
        var state = State.starting
        var watchers: [UInt64: AsyncStream<State>.Continuation] = [:]
        var nextWatcher: UInt64 = 0
    }
    private let storage = Mutex(Storage())

    var current: State { storage.withLock { $0.state } }

    func set(_ new: State) {
        let watchers: [AsyncStream<State>.Continuation] = storage.withLock { storage in
            // Draining is final.
            guard storage.state != .draining, storage.state != new else { return [] }
            storage.state = new
            return Array(storage.watchers.values)
        }
        for watcher in watchers { watcher.yield(new) }
    }

    /// The current state, then every change, as they happen.
    func changes() -> AsyncStream<State> {
        let (stream, continuation) = AsyncStream<State>.makeStream()
        let id = storage.withLock { storage in
            defer { storage.nextWatcher += 1 }
            storage.watchers[storage.nextWatcher] = continuation
            continuation.yield(storage.state)
            return storage.nextWatcher
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.storage.withLock { $0.watchers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Why requests are refused now, or nil when ready.
    var refusal: String? {
        switch current {
        case .ready: nil
        case .starting: "the server is starting: the workers are loading the model"
        case .broken(let reason): "the model cannot be used: \(reason)"
        case .draining: "the server is shutting down"
        }
    }
}
