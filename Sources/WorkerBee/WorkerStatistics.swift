/// What a ``WorkerProcess`` or a ``WorkerPool`` has been through, for metrics and tests.
public struct WorkerStatistics: Sendable, Equatable {
    /// Worker processes spawned.
    public var spawns = 0
    /// Lost workers restarted to send a request once more.
    public var restarts = 0
    /// Workers lost during a pool's embed calls (each cost a piece that was split and sent again).
    public var losses = 0
    /// The largest frame a worker sent, in bytes; a call of any size keeps it far below the
    /// frame cap.
    public var largestFrameReceived = 0
    /// The running workers' pids.
    public var pids: [Int32] = []

    /// Statistics from their parts (all zero by default).
    public init(spawns: Int = 0, restarts: Int = 0, losses: Int = 0, largestFrameReceived: Int = 0, pids: [Int32] = []) {
        self.spawns = spawns
        self.restarts = restarts
        self.losses = losses
        self.largestFrameReceived = largestFrameReceived
        self.pids = pids
    }
}
