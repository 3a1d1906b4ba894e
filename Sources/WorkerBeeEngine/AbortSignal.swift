import CWorkerBeeSystem

/// A flag another thread raises to stop a running llama.cpp computation early.
///
/// It is polled by llama.cpp's abort callback between graph nodes and by the engine between
/// micro-batches and generated tokens.
public final class AbortSignal: @unchecked Sendable {
    let flag: OpaquePointer

    /// Creates a lowered signal.
    public init() {
        guard let flag = wb_flag_create() else { fatalError("out of memory allocating an abort flag") }
        self.flag = flag
    }

    deinit { wb_flag_destroy(flag) }

    /// Asks the running computation to stop.
    public func raise() { wb_flag_set(flag, true) }

    /// Lowers the flag before the next computation.
    public func reset() { wb_flag_set(flag, false) }

    /// Whether the flag is raised.
    public var isRaised: Bool { wb_flag_get(flag) }
}
