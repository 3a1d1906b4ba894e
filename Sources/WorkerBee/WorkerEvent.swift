import WorkerBeeWire

/// Something that happened in a ``WorkerProcess``, for metrics, logs and tests
/// (see ``WorkerProcess/events()``).
public enum WorkerEvent: Sendable, Equatable {
    /// A worker process was spawned and said hello.
    case spawned(pid: Int32)
    /// A caller found the worker busy and waits; `waiting` callers are queued, this one included.
    case queued(waiting: Int)
    /// A request was handed to the worker: queued for writing to its input, behind nothing but
    /// earlier requests (its bytes may still be on their way). `items` is the number of texts (1
    /// for an image, 0 otherwise).
    case sent(requestID: UInt64, label: String, items: Int)
    /// The worker answered a request (with a result or a failure it reported).
    case answered(requestID: UInt64)
    /// The worker was lost during a request: it crashed, broke the protocol, or was killed
    /// because it timed out. `status` says how it ended.
    case lost(pid: Int32, status: ExitStatus, code: FailureCode)
    /// A request is sent again on a fresh worker after a loss.
    case retrying(label: String)
    /// The worker was stopped on request.
    case stopped(pid: Int32)
}
