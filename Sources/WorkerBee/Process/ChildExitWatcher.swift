internal import CWorkerBeeSystem
import Foundation
import Synchronization

/// Tells each ``ChildProcess`` when its child has exited, by event, never by polling.
///
/// On Linux one thread waits in `epoll_wait` on a pidfd per child (a pidfd becomes readable
/// when its process exits). Where there is no pidfd (macOS, Linux before 5.3), a thread per
/// child waits in `waitid(WNOWAIT)`. Either way the child is only *told* here; it reaps itself
/// under its own lock, so a signal can never reach a recycled pid.
///
/// libdispatch is deliberately not used: on Linux, tearing down a dispatch source on a
/// descriptor races the descriptor's close and now and then crashed the host inside
/// `_dispatch_event_loop_drain` when many workers came and went.
final class ChildExitWatcher: Sendable {
    static let shared = ChildExitWatcher()

    /// The epoll instance, or -1 where there is none.
    private let epoll: Int32
    /// The children being watched, by pidfd.
    private let children = Mutex<[Int32: ChildProcess]>([:])

    private init() {
        epoll = wb_epoll_create()
        guard epoll >= 0 else { return }
        let thread = Thread { [self] in loop() }
        thread.name = "workerbee-child-exits"
        thread.start()
    }

    /// Calls `child.reap()` once the child has exited.
    func watch(_ child: ChildProcess) {
        let added: Bool = epoll >= 0 && children.withLock { children in
            // Under the lock, so a pidfd number is never reused while the loop still maps it.
            let pidfd = wb_pidfd_open(child.pid)
            guard pidfd >= 0 else { return false }
            guard wb_epoll_add(epoll, pidfd) == 0 else {
                close(pidfd)
                return false
            }
            children[pidfd] = child
            return true
        }
        if !added { watchWithThread(child) }
    }

    private func watchWithThread(_ child: ChildProcess) {
        let thread = Thread {
            Self.waitUntilReapable(child.pid)
            child.reap()
        }
        thread.name = "workerbee-child-\(child.pid)"
        thread.start()
    }

    private func loop() -> Never {
        while true {
            let pidfd = wb_epoll_wait_one(epoll)
            guard pidfd >= 0 else { continue }  // EINTR
            let child = children.withLock { children in
                let child = children.removeValue(forKey: pidfd)
                // Out of the epoll set first: a close alone would leave it there while a child
                // being spawned holds a copy, and its next event would close a reused number.
                _ = wb_epoll_remove(epoll, pidfd)
                close(pidfd)
                return child
            }
            guard let child else { continue }
            // The pidfd is readable once the process has exited, so this returns at once; it
            // makes sure the reap's `waitpid(WNOHANG)` finds the exit. It does not reap.
            Self.waitUntilReapable(child.pid)
            child.reap()
        }
    }

    /// Blocks until `pid` has exited and can be reaped, without reaping it.
    private static func waitUntilReapable(_ pid: pid_t) {
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR {}
    }
}
