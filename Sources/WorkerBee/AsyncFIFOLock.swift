import Foundation

/// A mutual-exclusion lock for async code that serves waiters in arrival order and suspends
/// them instead of blocking threads. A waiter whose task is cancelled leaves the queue and
/// gets `CancellationError`.
final class AsyncFIFOLock: @unchecked Sendable {
    private let lock = NSLock()
    private var held = false
    private var nextTicket: UInt64 = 0
    private var waiters: [(ticket: UInt64, continuation: CheckedContinuation<Void, Error>)] = []

    /// Waits for the lock.
    /// - Throws: `CancellationError` if the task is cancelled while waiting.
    func acquire() async throws {
        let ticket = takeTicket()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                lock.lock()
                if Task.isCancelled {
                    lock.unlock()
                    continuation.resume(throwing: CancellationError())
                } else if !held {
                    held = true
                    lock.unlock()
                    continuation.resume()
                } else {
                    waiters.append((ticket, continuation))
                    lock.unlock()
                }
            }
        } onCancel: {
            lock.lock()
            if let index = waiters.firstIndex(where: { $0.ticket == ticket }) {
                let waiter = waiters.remove(at: index)
                lock.unlock()
                waiter.continuation.resume(throwing: CancellationError())
            } else {
                lock.unlock()
            }
        }
    }

    private func takeTicket() -> UInt64 {
        lock.withLock {
            defer { nextTicket += 1 }
            return nextTicket
        }
    }

    /// Hands the lock to the next waiter, or frees it.
    func release() {
        lock.lock()
        if waiters.isEmpty {
            held = false
            lock.unlock()
        } else {
            let next = waiters.removeFirst()
            lock.unlock()
            next.continuation.resume()
        }
    }
}
