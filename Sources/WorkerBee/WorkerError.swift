import WorkerBeeWire

/// An error from the worker process or from talking to it.
///
/// Errors the worker reports for one request (a missing model, a model that cannot embed) carry
/// the worker's own code and leave the worker running; `crashed`, `timedOut` and
/// `protocolViolation` mean the worker was lost or killed.
public struct WorkerError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is: the shared ``FailureCode`` vocabulary. The worker's own
    /// codes (`.modelNotFound`, `.cannotEmbed`, ...) leave it running; `.crashed`, `.timedOut` and
    /// `.protocolViolation` mean it was lost or killed.
    public typealias Code = FailureCode

    /// What kind of failure this is.
    public let code: Code
    /// A sentence for a person.
    public let message: String
    /// How the worker ended, when it ended.
    public let exitStatus: ExitStatus?
    /// The last lines of the worker's log, when the worker was lost.
    public let logTail: String?
    /// For `.poisonInput` from a pool: the vectors of every text that did not crash the
    /// worker (failed rows are zeros) and the indexes of those that did.
    public var partial: Embeddings?

    /// Creates an error.
    public init(_ code: Code, _ message: String, exitStatus: ExitStatus? = nil, logTail: String? = nil) {
        self.code = code
        self.message = message
        self.exitStatus = exitStatus
        self.logTail = logTail
        self.partial = nil
    }

    /// The message and how the worker ended, in one line (no log tail).
    public var summary: String {
        exitStatus.map { "\(message) (\($0))" } ?? message
    }

    public var description: String {
        var text = summary
        if let logTail, !logTail.isEmpty {
            text += "\nlast lines of the worker log:\n" + logTail.split(separator: "\n", omittingEmptySubsequences: false)
                .map { "  | " + $0 }.joined(separator: "\n")
        }
        return text
    }
}
