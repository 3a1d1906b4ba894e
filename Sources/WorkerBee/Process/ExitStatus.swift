import WorkerBeeWire

/// How a child process ended.
public enum ExitStatus: Sendable, Equatable, CustomStringConvertible {
    /// It exited with this status.
    case exited(Int32)
    /// A signal killed it.
    case signaled(Int32)

    public var description: String {
        switch self {
        case .exited(let code): return "exit status \(code)"
        case .signaled(let signal):
            let names: [Int32: String] = [4: "SIGILL", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 11: "SIGSEGV", 13: "SIGPIPE", 15: "SIGTERM"]
            return "killed by signal \(signal)\(names[signal].map { " (\($0))" } ?? "")"
        }
    }
}
