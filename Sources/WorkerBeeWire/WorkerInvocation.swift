import Synchronization

/// How a host asks a program to act as its worker, shared by the host (which starts workers) and
/// the engine (which runs them).
///
/// The host starts the worker executable with the arguments `worker --settings JSON
/// --parent-pid PID` and the environment variable ``environmentKey`` set to `1`. A program that
/// links the engine and calls `WorkerBeeWorker.runIfRequested()` first thing in `main` becomes the
/// worker when started that way, and otherwise carries on; that call also marks the running
/// program as able to be its own worker, so the host starts it rather than looking for
/// `workerbee`.
public enum WorkerInvocation {
    /// The environment variable the host sets to `1` in every worker it starts.
    public static let environmentKey = "WORKERBEE_WORKER"

    private static let runningProgramCanBeWorker = Atomic(false)

    /// Whether the running program has declared that it can be its own worker.
    public static var runningProgramIsWorkerCapable: Bool {
        runningProgramCanBeWorker.load(ordering: .acquiring)
    }

    /// Declares that the running program becomes a worker when started as one.
    public static func declareRunningProgramWorkerCapable() {
        runningProgramCanBeWorker.store(true, ordering: .releasing)
    }

    /// The settings and parent pid in worker arguments (`worker --settings JSON --parent-pid
    /// PID`, the program name first), or nil if `arguments` are not a worker invocation.
    public static func parse(_ arguments: [String]) -> (settings: String, parentPID: Int32?)? {
        guard arguments.count >= 2, arguments[1] == "worker" else { return nil }
        var settings: String?
        var parentPID: Int32?
        var index = 2
        while index + 1 < arguments.count {
            switch arguments[index] {
            case "--settings": settings = arguments[index + 1]
            case "--parent-pid": parentPID = Int32(arguments[index + 1])
            default: break
            }
            index += 2
        }
        return settings.map { ($0, parentPID) }
    }
}
