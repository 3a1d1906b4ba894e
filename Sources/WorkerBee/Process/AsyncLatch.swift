import Synchronization

/// A value that is set once and that any number of tasks wait for, each up to a timeout of its
/// own, without blocking a thread: a child's exit status, the end of a worker's output.
final class AsyncLatch<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiters: [UInt64: CheckedContinuation<Value?, Never>] = [:]
        var nextWaiter: UInt64 = 0
        /// Waiters whose time ran out before they registered.
        var abandoned: Set<UInt64> = []
    }
    private let state = Mutex(State())

    init() {}

    /// The value, if it has been set.
    var value: Value? { state.withLock { $0.value } }

    /// Sets the value and wakes every waiter; a second call changes nothing.
    func set(_ value: Value) {
        let waiters: [CheckedContinuation<Value?, Never>] = state.withLock { state in
            guard state.value == nil else { return [] }
            state.value = value
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: value) }
    }

    /// Waits for the value, up to `timeout` (nil: no limit); nil if it is not set by then.
    /// Cancelling the task does not end the wait (a timeout still does).
    func wait(timeout: Duration?) async -> Value? {
        let id: UInt64 = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        return await withTaskGroup(of: Value?.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let ready: (Bool, Value?) = self.state.withLock { state in
                        if let value = state.value { return (true, value) }
                        if state.abandoned.remove(id) != nil { return (true, nil) }
                        state.waiters[id] = continuation
                        return (false, nil)
                    }
                    if ready.0 { continuation.resume(returning: ready.1) }
                }
            }
            if let timeout {
                group.addTask {
                    try? await Task.sleep(for: timeout)
                    return nil
                }
            }
            let first = await group.next() ?? nil
            if first == nil {
                // The timer won: release the waiter so the group can finish.
                let waiter = self.state.withLock { state in
                    let waiter = state.waiters.removeValue(forKey: id)
                    if waiter == nil && state.value == nil { state.abandoned.insert(id) }
                    return waiter
                }
                waiter?.resume(returning: nil)
            }
            group.cancelAll()
            return first
        }
    }
}
