import CWorkerBeeSystem
import Foundation
import GGUF
import WorkerBeeWire

/// The worker process: `workerbee worker` ends up here.
///
/// Start-up order matters: the protocol descriptors are taken from fd 0 and fd 1 first, then fd 1
/// and fd 2 are pointed at the log, so nothing native (llama.cpp, clip loaders, `printf`) can ever
/// write into the protocol stream. The worker exits when its input closes, and on Linux the
/// kernel kills it if the host dies (`PR_SET_PDEATHSIG`).
public enum WorkerMain {
    /// Runs the worker until its input closes or the host asks it to shut down.
    /// - Parameters:
    ///   - settings: models, threads and log location, from the host.
    ///   - parentPID: the host's pid; the worker exits at once if its parent is already another process.
    public static func run(settings: WorkerSettings, parentPID: Int32?) -> Never {
        let input = fcntl(0, F_DUPFD_CLOEXEC, 3)
        let output = fcntl(1, F_DUPFD_CLOEXEC, 3)
        guard input >= 0, output >= 0 else {
            WorkerLog.write("cannot take the protocol descriptors: \(String(cString: strerror(errno)))")
            exit(2)
        }
        let devNull = open("/dev/null", O_RDONLY)
        if devNull >= 0 {
            dup2(devNull, 0)
            close(devNull)
        }
        if let logPath = settings.logPath {
            let log = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            if log >= 0 {
                dup2(log, 2)
                close(log)
            }
        }
        dup2(2, 1)
        signal(SIGPIPE, SIG_IGN)
        _ = wb_set_parent_death_signal(SIGKILL)
        if let parentPID, getppid() != parentPID {
            _exit(0)  // the host died before we could ask to follow it
        }

        if let limit = settings.memoryLimit {
            var bound = rlimit(rlim_cur: rlim_t(limit), rlim_max: rlim_t(limit))
            if setrlimit(Int32(RLIMIT_DATA.rawValue), &bound) != 0 {
                WorkerLog.write("cannot set the memory limit of \(limit) bytes: \(String(cString: strerror(errno)))")
            } else {
                WorkerLog.write("memory limit: \(limit / 1_048_576) MiB (RLIMIT_DATA)")
            }
        }
        if let refusal = CPUCompatibility.check() {
            WorkerLog.write("refusing to start: \(refusal)")
            exit(CPUCompatibility.exitStatus)
        }
        var loop = RequestLoop(settings: settings, channel: HostChannel(input: input, output: output))
        loop.run()
    }
}
