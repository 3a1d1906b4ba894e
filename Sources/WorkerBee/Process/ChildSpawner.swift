import Dispatch
import Foundation
import Synchronization

/// A long-lived thread that spawns every worker.
///
/// On Linux `PR_SET_PDEATHSIG` fires when the *thread* that spawned the child ends, not the
/// process. Cooperative-pool threads come and go, so spawning from one of them could kill a
/// healthy worker later; spawning from this thread, which never exits, cannot. The thread sleeps
/// on a semaphore between jobs; it is its own thread, so no cooperative thread ever blocks.
final class ChildSpawner: Sendable {
    static let shared = ChildSpawner()

    private let jobs = Mutex<[@Sendable () -> Void]>([])
    private let ready = DispatchSemaphore(value: 0)

    private init() {
        let thread = Thread { [self] in loop() }
        thread.name = "workerbee-spawner"
        thread.start()
    }

    /// Runs `body` on the spawner thread and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            jobs.withLock { $0.append { continuation.resume(returning: body()) } }
            ready.signal()
        }
    }

    private func loop() -> Never {
        while true {
            ready.wait()
            let job = jobs.withLock { $0.removeFirst() }
            job()
        }
    }
}
