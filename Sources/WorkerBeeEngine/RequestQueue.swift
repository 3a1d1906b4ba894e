import Dispatch
import Synchronization
import WorkerBeeWire

/// Requests waiting for the worker's request loop, fed by the reader thread.
///
/// The reader thread keeps reading while a request runs, so a cancel for the running request
/// raises its ``AbortSignal`` at once and a cancel for a queued one is remembered. The request
/// loop runs on the worker's main thread and sleeps on a semaphore while nothing is queued.
final class RequestQueue: Sendable {
    private struct State {
        var items: [(id: UInt64, request: WorkerRequest)] = []
        var cancelled = Set<UInt64>()
        var current: UInt64?
        var closed = false
    }
    private let state = Mutex(State())
    /// Signalled once per queued request and once on close.
    private let available = DispatchSemaphore(value: 0)
    /// Raised when the running request is cancelled.
    let abort = AbortSignal()

    /// Adds a request from the host, or applies a cancel.
    func push(id: UInt64, request: WorkerRequest) {
        let wake: Bool = state.withLock { state in
            switch request {
            case .cancel:
                if state.current == id {
                    abort.raise()
                } else if state.items.contains(where: { $0.id == id }) {
                    state.cancelled.insert(id)
                }
                return false
            case .shutdown:
                state.closed = true
                return true
            default:
                state.items.append((id, request))
                return true
            }
        }
        if wake { available.signal() }
    }

    /// Marks the queue closed (end of input or shutdown); `next` returns nil from then on.
    func close() {
        state.withLock { $0.closed = true }
        available.signal()
    }

    /// The next request, waiting until one arrives; nil after shutdown.
    /// - Returns: the request and whether it was cancelled before it started.
    func next() -> (id: UInt64, request: WorkerRequest, cancelled: Bool)? {
        while true {
            available.wait()
            let item: (id: UInt64, request: WorkerRequest, cancelled: Bool)?? = state.withLock { state in
                if state.closed { return .some(nil) }
                guard !state.items.isEmpty else { return nil }
                let item = state.items.removeFirst()
                state.current = item.id
                abort.reset()
                return (item.id, item.request, state.cancelled.remove(item.id) != nil)
            }
            if let item { return item }
        }
    }

    /// Marks the running request finished.
    func finish() {
        state.withLock { state in
            state.current = nil
            abort.reset()
        }
    }
}
