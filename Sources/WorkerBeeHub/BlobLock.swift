import Foundation
import Synchronization

/// An exclusive `flock` on a lock file, the kind `huggingface_hub` takes under the cache's
/// `.locks/` folder, so two pulls of one file (in any process) never write it at once.
///
/// A pull that finds the lock held waits for its release in a blocking `flock` on a thread of its
/// own: it wakes when the lock is released, without polling, and no cooperative thread waits.
package struct BlobLock {
    private let descriptor: Int32

    /// Takes the lock at `file`, creating it, waiting while another process holds it.
    /// - Throws: `CancellationError` if the task is cancelled while it waits (the lock is then
    ///   released as soon as the waiting thread gets it); ``HubError`` `.server` if the lock file
    ///   cannot be opened or locked.
    package static func acquire(_ file: URL, progress: HubProgress = .silent) async throws -> BlobLock {
        try await acquire(file, progress: progress, onAttempt: {})
    }

    /// ``acquire(_:progress:)``, calling `onAttempt` before each `flock` call (tests count them).
    static func acquire(_ file: URL, progress: HubProgress, onAttempt: @escaping @Sendable () -> Void) async throws -> BlobLock {
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        let descriptor = open(file.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw HubError(.server, "cannot open the lock file \(file.path): \(String(cString: strerror(errno)))") }
        onAttempt()
        if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { return BlobLock(descriptor: descriptor) }
        guard errno == EWOULDBLOCK || errno == EINTR else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw HubError(.server, "cannot lock \(file.path): \(reason)")
        }
        progress.note("waiting for another pull of the same file (\(file.lastPathComponent))")
        do {
            try Task.checkCancellation()
        } catch {
            close(descriptor)
            throw error
        }
        try await Wait.forLock(descriptor, path: file.path, onAttempt: onAttempt)
        return BlobLock(descriptor: descriptor)
    }

    /// Lets the next waiter in.
    package func release() {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }

    /// One blocking `flock` on a dedicated thread, handed to the waiting task, or, if that task
    /// was cancelled first, undone by the thread: it owns the descriptor until it hands it over.
    private final class Wait: Sendable {
        private enum State {
            case starting
            case waiting(CheckedContinuation<Void, any Error>)
            case abandoned
            case ended
        }
        private let state = Mutex(State.starting)

        /// Returns once `descriptor` holds the lock; on a throw the descriptor is (or will be) closed.
        static func forLock(_ descriptor: Int32, path: String, onAttempt: @escaping @Sendable () -> Void) async throws {
            let wait = Wait()
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    wait.start(continuation)
                    let thread = Thread {
                        var result: Int32
                        repeat {
                            onAttempt()
                            result = flock(descriptor, LOCK_EX)
                        } while result != 0 && errno == EINTR
                        wait.finish(descriptor, failure: result == 0 ? nil : "cannot lock \(path): \(String(cString: strerror(errno)))")
                    }
                    thread.name = "workerbee-blob-lock"
                    thread.start()
                }
            } onCancel: {
                wait.cancel()
            }
        }

        private func start(_ continuation: CheckedContinuation<Void, any Error>) {
            let cancelled = state.withLock { state in
                if case .abandoned = state { return true }
                state = .waiting(continuation)
                return false
            }
            if cancelled { continuation.resume(throwing: CancellationError()) }
        }

        private func cancel() {
            let continuation: CheckedContinuation<Void, any Error>? = state.withLock { state in
                switch state {
                case .starting:
                    state = .abandoned
                    return nil
                case .waiting(let continuation):
                    state = .abandoned
                    return continuation
                case .abandoned, .ended:
                    return nil
                }
            }
            continuation?.resume(throwing: CancellationError())
        }

        private func finish(_ descriptor: Int32, failure: String?) {
            let continuation: CheckedContinuation<Void, any Error>? = state.withLock { state in
                guard case .waiting(let continuation) = state else { return nil }
                state = .ended
                return continuation
            }
            guard let continuation else {
                // Nobody waits any more: let the next pull in at once.
                if failure == nil { flock(descriptor, LOCK_UN) }
                close(descriptor)
                return
            }
            if let failure {
                close(descriptor)
                continuation.resume(throwing: HubError(.server, failure))
            } else {
                continuation.resume()
            }
        }
    }
}
