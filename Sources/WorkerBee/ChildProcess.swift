import CWorkerBeeSystem
import Foundation
import Synchronization

/// A process the host spawned (a worker, or a helper program such as `pdftoppm`): its pid, and
/// its exit as an event.
///
/// The exit is observed as an event, not by polling (``ChildExitWatcher``: a pidfd in epoll on
/// Linux). The child is reaped exactly once (no zombies), and a signal is never sent to a reaped
/// pid, so a recycled pid is never hit.
final class ChildProcess: Sendable {
    /// The child's pid.
    let pid: pid_t

    private struct State {
        var status: ExitStatus?
        var waiters: [UInt64: CheckedContinuation<ExitStatus?, Never>] = [:]
        var nextWaiter: UInt64 = 0
        var abandoned: Set<UInt64> = []
    }
    private let state = Mutex(State())

    private init(pid: pid_t) {
        self.pid = pid
    }

    /// Spawns `executable` with `arguments` and `environment`, with `stdin`, `stdout` and
    /// `stderr` as its descriptors 0, 1 and 2 and nothing else open, from the spawner thread.
    /// - Throws: ``WorkerError`` `.spawnFailed`.
    static func spawn(
        executable: String, arguments: [String], environment: [String: String], stdin: Int32, stdout: Int32, stderr: Int32
    ) async throws(WorkerError) -> ChildProcess {
        let result: Result<ChildProcess, WorkerError> = await ChildSpawner.shared.run {
            let argv = ([executable] + arguments).map { strdup($0) } + [nil]
            let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
            defer {
                argv.forEach { free($0) }
                envp.forEach { free($0) }
            }
            var pid: pid_t = 0
            let rc = wb_spawn(&pid, executable, argv, envp, stdin, stdout, stderr)
            guard rc == 0 else {
                return .failure(WorkerError(.spawnFailed, "cannot start \(executable): \(String(cString: strerror(rc)))"))
            }
            return .success(ChildProcess(pid: pid))
        }
        let child = try result.get()
        ChildExitWatcher.shared.watch(child)
        return child
    }

    /// Spawns a worker: stdin and stdout on fresh pipes (the protocol), stderr on `logFD`.
    /// - Returns: the process, the write end of its stdin (requests) and the read end of its
    ///   stdout (responses).
    /// - Throws: ``WorkerError`` `.spawnFailed`.
    static func spawnWorker(
        executable: String, arguments: [String], environment: [String: String], logFD: Int32
    ) async throws(WorkerError) -> (process: ChildProcess, requestFD: Int32, responseFD: Int32) {
        var requestPipe: [Int32] = [-1, -1]
        var responsePipe: [Int32] = [-1, -1]
        guard wb_pipe_cloexec(&requestPipe) == 0 else { throw Self.systemError("pipe") }
        guard wb_pipe_cloexec(&responsePipe) == 0 else {
            close(requestPipe[0]); close(requestPipe[1])
            throw Self.systemError("pipe")
        }
        let process: ChildProcess
        do {
            process = try await spawn(executable: executable, arguments: arguments, environment: environment, stdin: requestPipe[0], stdout: responsePipe[1], stderr: logFD)
        } catch {
            for fd in requestPipe + responsePipe { close(fd) }
            throw error
        }
        close(requestPipe[0])
        close(responsePipe[1])
        return (process, requestPipe[1], responsePipe[0])
    }

    private static func systemError(_ call: String) -> WorkerError {
        WorkerError(.spawnFailed, "\(call) failed: \(String(cString: strerror(errno)))")
    }

    /// Collects the exit status if the child has ended, and wakes everyone waiting for it.
    func reap() {
        let (status, waiters): (ExitStatus?, [CheckedContinuation<ExitStatus?, Never>]) = state.withLock { state in
            guard state.status == nil else { return (nil, []) }
            var raw: Int32 = 0
            let rc = waitpid(pid, &raw, WNOHANG)
            if rc == pid {
                state.status = Self.decode(raw)
            } else if rc < 0 && errno == ECHILD {
                state.status = .exited(-1)  // reaped elsewhere; should not happen
            } else {
                return (nil, [])
            }
            let waiters = Array(state.waiters.values)
            state.waiters.removeAll()
            return (state.status, waiters)
        }
        guard let status else { return }
        for waiter in waiters { waiter.resume(returning: status) }
    }

    /// Sends `signal` unless the child has already been reaped.
    func send(signal: Int32) {
        state.withLock { state in
            if state.status == nil { _ = kill(pid, signal) }
        }
    }

    /// The exit status if the child has ended and been reaped, else nil. Never blocks.
    var exitStatus: ExitStatus? {
        state.withLock { $0.status }
    }

    /// Waits for the child to end, up to `timeout` (nil: no limit); nil if it is still running then.
    func waitForExit(timeout: Duration?) async -> ExitStatus? {
        let id: UInt64 = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        return await withTaskGroup(of: ExitStatus?.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let (ready, status): (Bool, ExitStatus?) = self.state.withLock { state in
                        if let status = state.status { return (true, status) }
                        if state.abandoned.remove(id) != nil { return (true, nil) }
                        state.waiters[id] = continuation
                        return (false, nil)
                    }
                    if ready { continuation.resume(returning: status) }
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
                // The timer won: release the exit waiter so the group can finish.
                let waiter = self.state.withLock { state in
                    let waiter = state.waiters.removeValue(forKey: id)
                    if waiter == nil && state.status == nil { state.abandoned.insert(id) }
                    return waiter
                }
                waiter?.resume(returning: nil)
            }
            group.cancelAll()
            return first
        }
    }

    /// Stops the child as a list of steps, each raced against its exit: `steps` in order (a
    /// signal, or nothing, and how long to wait after it), then SIGKILL until it is reaped.
    /// - Returns: how the child ended.
    @discardableResult
    func stop(steps: [(signal: Int32?, wait: Duration)] = []) async -> ExitStatus {
        for step in steps {
            if let signal = step.signal { send(signal: signal) }
            if let status = await waitForExit(timeout: step.wait) { return status }
        }
        while true {
            send(signal: SIGKILL)
            if let status = await waitForExit(timeout: .seconds(5)) { return status }
        }
    }

    /// Kills the child with SIGKILL and reaps it.
    @discardableResult
    func terminate() async -> ExitStatus {
        await stop()
    }

    private static func decode(_ raw: Int32) -> ExitStatus {
        let signal = raw & 0x7F
        if signal == 0 { return .exited((raw >> 8) & 0xFF) }
        return .signaled(signal)
    }
}
