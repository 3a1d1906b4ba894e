import WorkerBeeWire

/// An error from the worker process or from talking to it.
///
/// Errors the worker reports for one request (a missing model, a model that cannot embed) carry
/// the worker's own code and leave the worker running; `crashed`, `timedOut` and
/// `protocolViolation` mean the worker was lost or killed.
public struct WorkerError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. New codes may be added; switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The stable name (worker-reported codes keep the worker's name).
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The worker exited or was killed while it held a request (after one restart and retry).
        public static let crashed = Code("crashed")
        /// The worker did not answer in time and was killed.
        public static let timedOut = Code("timedOut")
        /// The worker broke the wire protocol (bad frame, wrong message, wrong version) and was killed.
        public static let protocolViolation = Code("protocolViolation")
        /// The worker could not be started at all.
        public static let spawnFailed = Code("spawnFailed")
        /// The worker was stopped while the request was in flight.
        public static let stopped = Code("stopped")
        /// The model file does not exist (reported by the worker).
        public static let modelNotFound = Code("modelNotFound")
        /// The file is not a usable GGUF model (reported by the worker).
        public static let invalidModel = Code("invalidModel")
        /// The model cannot produce embeddings (reported by the worker).
        public static let cannotEmbed = Code("cannotEmbed")
        /// llama.cpp refused to load the model (reported by the worker).
        public static let loadFailed = Code("loadFailed")
        /// llama.cpp failed while running (reported by the worker).
        public static let inferenceFailed = Code("inferenceFailed")
        /// The vectors do not have the configured embedding dimension.
        public static let dimensionMismatch = Code("dimensionMismatch")
        /// No vision model is configured (reported by the worker).
        public static let visionDisabled = Code("visionDisabled")
        /// No projector (mmproj) was found for the vision model (reported by the worker).
        public static let projectorNotFound = Code("projectorNotFound")
        /// The request itself is unusable, e.g. bytes that are not an image (reported by the worker).
        public static let invalidInput = Code("invalidInput")
    }

    /// What kind of failure this is.
    public let code: Code
    /// A sentence for a person.
    public let message: String
    /// How the worker ended, when it ended.
    public let exitStatus: ExitStatus?
    /// The last lines of the worker's log, when the worker was lost.
    public let logTail: String?

    /// Creates an error.
    public init(_ code: Code, _ message: String, exitStatus: ExitStatus? = nil, logTail: String? = nil) {
        self.code = code
        self.message = message
        self.exitStatus = exitStatus
        self.logTail = logTail
    }

    public var description: String {
        var text = message
        if let exitStatus { text += " (\(exitStatus))" }
        if let logTail, !logTail.isEmpty {
            text += "\nlast lines of the worker log:\n" + logTail.split(separator: "\n", omittingEmptySubsequences: false)
                .map { "  | " + $0 }.joined(separator: "\n")
        }
        return text
    }
}

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
