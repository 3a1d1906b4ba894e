import Synchronization

/// A mutual-exclusion lock for async code that serves waiters in arrival order and suspends
/// them instead of blocking threads. A waiter whose task is cancelled leaves the queue and
/// gets `CancellationError`.
///
/// Taking the lock is two steps so that arrival order is the caller's order: ``enter()`` takes a
/// place in line synchronously, where the caller is (on an actor: before the actor moves on to
/// its next caller), and ``wait(for:)`` suspends until that place comes up. A single async
/// `acquire()` would run on the global executor after a hop, where two callers' hops can take
/// their places in either order.
final class AsyncFIFOLock: Sendable {
    /// A place in line, from ``enter()``.
    struct Ticket: Sendable {
        fileprivate let number: UInt64
        /// How many callers wait for the lock counting this one; 0 if it got the lock at once.
        let waiting: Int
    }

    private struct Waiter {
        let number: UInt64
        var continuation: CheckedContinuation<Void, any Error>?
    }

    private struct State {
        var held = false
        var nextNumber: UInt64 = 0
        var waiters: [Waiter] = []
        /// Tickets the lock was handed to before they started waiting.
        var granted: Set<UInt64> = []
    }
    private let state = Mutex(State())

    /// Takes a place in line (or the lock itself, when it is free and nobody waits). Follow it
    /// with ``wait(for:)`` at once.
    func enter() -> Ticket {
        state.withLock { state in
            let number = state.nextNumber
            state.nextNumber += 1
            if !state.held && state.waiters.isEmpty {
                state.held = true
                state.granted.insert(number)
                return Ticket(number: number, waiting: 0)
            }
            state.waiters.append(Waiter(number: number))
            return Ticket(number: number, waiting: state.waiters.count)
        }
    }

    /// Waits until `ticket`'s turn; the caller then holds the lock and must ``release()`` it.
    /// - Throws: `CancellationError` if the task is cancelled while waiting (it then leaves
    ///   the line and does not hold the lock).
    func wait(for ticket: Ticket) async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Outcome { case acquired, cancelled, waiting }
                let outcome: Outcome = state.withLock { state in
                    if state.granted.remove(ticket.number) != nil { return .acquired }
                    guard let index = state.waiters.firstIndex(where: { $0.number == ticket.number }) else { return .cancelled }
                    if Task.isCancelled {
                        state.waiters.remove(at: index)
                        return .cancelled
                    }
                    state.waiters[index].continuation = continuation
                    return .waiting
                }
                switch outcome {
                case .acquired: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .waiting: break
                }
            }
        } onCancel: {
            // Leaves the line if still in it; a waiter that already has its continuation is
            // resumed here, one that has not gets there and sees the cancellation itself.
            let continuation: CheckedContinuation<Void, any Error>?? = state.withLock { state in
                guard let index = state.waiters.firstIndex(where: { $0.number == ticket.number }), state.waiters[index].continuation != nil else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            continuation??.resume(throwing: CancellationError())
        }
    }

    /// Hands the lock to the next waiter, or frees it.
    func release() {
        let next: CheckedContinuation<Void, any Error>? = state.withLock { state in
            guard !state.waiters.isEmpty else {
                state.held = false
                return nil
            }
            let waiter = state.waiters.removeFirst()
            if waiter.continuation == nil { state.granted.insert(waiter.number) }
            return waiter.continuation
        }
        next?.resume()
    }
}
