import Foundation
import Synchronization
import WorkerBeeWire

/// The limits on one exchange with a worker, from the moment its request is written until its
/// answer is read: the request's timeout, and after a cancel the grace period the worker has to
/// stop. When a limit passes, the worker is killed. That ends the exchange wherever it is:
/// a write blocked on a worker that stopped reading fails with `EPIPE`, a wait for the answer
/// is released. Which limit passed first is the reason the exchange failed.
final class RequestDeadline: Sendable {
    /// Why the exchange was ended from outside.
    enum Reason: Sendable, Equatable {
        /// The request's timeout passed.
        case timedOut
        /// The caller cancelled and the worker did not stop within the grace period.
        case cancelIgnored
    }

    /// Thrown into a pending wait for the answer when a limit passes.
    struct Expired: Error {}

    private struct State {
        var reason: Reason?
        var timers: [Task<Void, Never>] = []
        var finished = false
    }

    private let connection: ChildConnection
    private let requestID: UInt64
    private let state = Mutex(State())

    /// Watches the exchange of request `requestID` on `connection`.
    init(connection: ChildConnection, requestID: UInt64) {
        self.connection = connection
        self.requestID = requestID
    }

    /// The limit that ended the exchange, if one did.
    var reason: Reason? { state.withLock { $0.reason } }

    /// Ends the exchange for `reason` after `delay`, unless it finished first.
    func expire(after delay: Duration, reason: Reason) {
        let timer = Task.detached { [self] in
            guard (try? await Task.sleep(for: delay)) != nil else { return }
            fire(reason)
        }
        let keep = state.withLock { state in
            if state.finished { return false }
            state.timers.append(timer)
            return true
        }
        if !keep { timer.cancel() }
    }

    /// The exchange is over: no limit applies any more.
    /// - Returns: the limit that passed first, if one did (the worker is then being killed).
    @discardableResult
    func finish() -> Reason? {
        let (timers, reason) = state.withLock { state in
            state.finished = true
            defer { state.timers = [] }
            return (state.timers, state.reason)
        }
        for timer in timers { timer.cancel() }
        return reason
    }

    private func fire(_ reason: Reason) {
        let first = state.withLock { state in
            guard !state.finished, state.reason == nil else { return false }
            state.reason = reason
            return true
        }
        guard first else { return }
        // Killing the worker ends a blocked write (the pipe's reader is gone) and its output;
        // the wait for the answer is released at once rather than at the end of the output.
        connection.process.send(signal: SIGKILL)
        connection.abandon(requestID, with: Expired())
    }
}
