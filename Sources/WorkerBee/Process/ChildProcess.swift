internal import CWorkerBeeSystem
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

    /// The exit status once reaped; a signal is only sent while this is nil.
    private let status = Mutex<ExitStatus?>(nil)
    /// Set once, when the child is reaped.
    private let exited = AsyncLatch<ExitStatus>()

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
        let reaped: ExitStatus? = status.withLock { status in
            guard status == nil else { return nil }
            var raw: Int32 = 0
            let rc = waitpid(pid, &raw, WNOHANG)
            if rc == pid {
                status = Self.decode(raw)
            } else if rc < 0 && errno == ECHILD {
                status = .exited(-1)  // reaped elsewhere; should not happen
            }
            return status
        }
        if let reaped { exited.set(reaped) }
    }

    /// Sends `signal` unless the child has already been reaped.
    func send(signal: Int32) {
        status.withLock { status in
            if status == nil { _ = kill(pid, signal) }
        }
    }

    /// The exit status if the child has ended and been reaped, else nil. Never blocks.
    var exitStatus: ExitStatus? {
        status.withLock { $0 }
    }

    /// Waits for the child to end, up to `timeout` (nil: no limit); nil if it is still running then.
    func waitForExit(timeout: Duration?) async -> ExitStatus? {
        await exited.wait(timeout: timeout)
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
