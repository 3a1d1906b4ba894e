import Synchronization

/// A mutual-exclusion lock for async code that serves waiters in arrival order and suspends
/// them instead of blocking threads. A waiter whose task is cancelled leaves the queue and
/// gets `CancellationError`.
final class AsyncFIFOLock: Sendable {
    private struct State {
        var held = false
        var nextTicket: UInt64 = 0
        var waiters: [(ticket: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
    }
    private let state = Mutex(State())

    /// Whether some task holds the lock.
    var isHeld: Bool { state.withLock { $0.held } }

    /// The number of tasks waiting for the lock (not counting the holder).
    var waiterCount: Int { state.withLock { $0.waiters.count } }

    /// Waits for the lock.
    /// - Throws: `CancellationError` if the task is cancelled while waiting.
    func acquire() async throws {
        let ticket = state.withLock { state in
            defer { state.nextTicket += 1 }
            return state.nextTicket
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Outcome { case cancelled, acquired, queued }
                let outcome: Outcome = state.withLock { state in
                    if Task.isCancelled { return .cancelled }
                    if !state.held {
                        state.held = true
                        return .acquired
                    }
                    state.waiters.append((ticket, continuation))
                    return .queued
                }
                switch outcome {
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .acquired: continuation.resume()
                case .queued: break
                }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                state.waiters.firstIndex { $0.ticket == ticket }.map { state.waiters.remove(at: $0) }
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Hands the lock to the next waiter, or frees it.
    func release() {
        let next = state.withLock { state -> (ticket: UInt64, continuation: CheckedContinuation<Void, any Error>)? in
            if state.waiters.isEmpty {
                state.held = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.continuation.resume()
    }
}
