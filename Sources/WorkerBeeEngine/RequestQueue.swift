import Foundation
import WorkerBeeWire

/// Requests waiting for the worker's executor, fed by the reader thread.
///
/// The reader thread keeps reading while a request runs, so a cancel for the running request
/// raises its ``AbortSignal`` at once and a cancel for a queued one is remembered.
final class RequestQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [(id: UInt64, request: WorkerRequest)] = []
    private var cancelled = Set<UInt64>()
    private var current: UInt64?
    private var closed = false
    /// Raised when the running request is cancelled.
    let abort = AbortSignal()

    /// Adds a request from the host, or applies a cancel.
    func push(id: UInt64, request: WorkerRequest) {
        condition.lock()
        defer { condition.unlock() }
        switch request {
        case .cancel:
            if current == id {
                abort.raise()
            } else if items.contains(where: { $0.id == id }) {
                cancelled.insert(id)
            }
        case .shutdown:
            closed = true
            condition.signal()
        default:
            items.append((id, request))
            condition.signal()
        }
    }

    /// Marks the queue closed (end of input or shutdown); `next` returns nil once it is empty.
    func close() {
        condition.lock()
        closed = true
        condition.signal()
        condition.unlock()
    }

    /// The next request, blocking the executor thread until one arrives; nil after shutdown.
    /// - Returns: the request and whether it was cancelled before it started.
    func next() -> (id: UInt64, request: WorkerRequest, cancelled: Bool)? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !closed { condition.wait() }
        if closed { return nil }
        let item = items.removeFirst()
        current = item.id
        abort.reset()
        return (item.id, item.request, cancelled.remove(item.id) != nil)
    }

    /// Marks the running request finished.
    func finish() {
        condition.lock()
        current = nil
        abort.reset()
        condition.unlock()
    }
}
