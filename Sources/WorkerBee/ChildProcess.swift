import CWorkerBeeSystem
import Foundation

/// A spawned worker process: its pid and the host's ends of its stdin and stdout pipes.
///
/// Reaping polls `waitpid(WNOHANG)` from a detached task with short sleeps, so no thread ever
/// blocks on the child, and every child is reaped exactly once (no zombies).
final class ChildProcess: @unchecked Sendable {
    /// The child's pid.
    let pid: pid_t
    /// Write end of the child's stdin (requests).
    let requestFD: Int32
    /// Read end of the child's stdout (responses).
    let responseFD: Int32

    private let lock = NSLock()
    private var status: ExitStatus?

    private init(pid: pid_t, requestFD: Int32, responseFD: Int32) {
        self.pid = pid
        self.requestFD = requestFD
        self.responseFD = responseFD
    }

    /// Spawns `executable` with `arguments`, stdin and stdout on fresh pipes and stderr on `logFD`.
    /// - Throws: ``WorkerError`` `.spawnFailed`.
    static func spawn(executable: String, arguments: [String], environment: [String: String], logFD: Int32) async throws(WorkerError) -> ChildProcess {
        let result: Result<ChildProcess, WorkerError> = await Spawner.shared.run {
            var requestPipe: [Int32] = [-1, -1]
            var responsePipe: [Int32] = [-1, -1]
            guard wb_pipe_cloexec(&requestPipe) == 0 else { return .failure(Self.systemError("pipe")) }
            guard wb_pipe_cloexec(&responsePipe) == 0 else {
                close(requestPipe[0]); close(requestPipe[1])
                return .failure(Self.systemError("pipe"))
            }
            let argv = ([executable] + arguments).map { strdup($0) } + [nil]
            let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
            defer {
                argv.forEach { free($0) }
                envp.forEach { free($0) }
            }
            var pid: pid_t = 0
            let rc = wb_spawn(&pid, executable, argv, envp, requestPipe[0], responsePipe[1], logFD)
            close(requestPipe[0])
            close(responsePipe[1])
            guard rc == 0 else {
                close(requestPipe[1]); close(responsePipe[0])
                return .failure(WorkerError(.spawnFailed, "cannot start \(executable): \(String(cString: strerror(rc)))"))
            }
            return .success(ChildProcess(pid: pid, requestFD: requestPipe[1], responseFD: responsePipe[0]))
        }
        return try result.get()
    }

    private static func systemError(_ call: String) -> WorkerError {
        WorkerError(.spawnFailed, "\(call) failed: \(String(cString: strerror(errno)))")
    }

    /// Sends `signal` unless the child has already been reaped (so a recycled pid is never hit).
    func send(signal: Int32) {
        lock.lock()
        defer { lock.unlock() }
        if status == nil { _ = kill(pid, signal) }
    }

    /// The exit status if the child has ended (reaping it), else nil. Never blocks.
    func poll() -> ExitStatus? {
        lock.lock()
        defer { lock.unlock() }
        if let status { return status }
        var raw: Int32 = 0
        let rc = waitpid(pid, &raw, WNOHANG)
        if rc == pid {
            status = Self.decode(raw)
        } else if rc < 0 && errno == ECHILD {
            status = .exited(-1)  // reaped elsewhere; should not happen
        }
        return status
    }

    /// Waits for the child to end, up to `timeout`; nil if it is still running then.
    func waitForExit(timeout: Duration) async -> ExitStatus? {
        let task = Task.detached { [self] () -> ExitStatus? in
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: timeout)
            var pause = Duration.milliseconds(1)
            while true {
                if let status = poll() { return status }
                if clock.now >= deadline { return nil }
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, .milliseconds(50))
            }
        }
        return await task.value
    }

    /// Kills the child with SIGKILL and reaps it.
    @discardableResult
    func terminate() async -> ExitStatus {
        send(signal: SIGKILL)
        while true {
            if let status = await waitForExit(timeout: .seconds(5)) { return status }
            send(signal: SIGKILL)
        }
    }

    private static func decode(_ raw: Int32) -> ExitStatus {
        let signal = raw & 0x7F
        if signal == 0 { return .exited((raw >> 8) & 0xFF) }
        return .signaled(signal)
    }
}
