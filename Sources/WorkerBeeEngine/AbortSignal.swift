internal import CLlama
import Synchronization

/// A flag another thread raises to stop a running llama.cpp computation early.
///
/// It is polled by llama.cpp's abort callback between graph nodes and by the engine between
/// micro-batches and generated tokens.
public final class AbortSignal: Sendable {
    private let flag = Atomic<Bool>(false)

    /// Creates a lowered signal.
    public init() {}

    /// Asks the running computation to stop.
    public func raise() { flag.store(true, ordering: .releasing) }

    /// Lowers the flag before the next computation.
    public func reset() { flag.store(false, ordering: .releasing) }

    /// Whether the flag is raised.
    public var isRaised: Bool { flag.load(ordering: .acquiring) }

    /// Installs this signal as the abort callback of a llama.cpp context (the context must not
    /// outlive the signal).
    func install(on context: OpaquePointer) {
        llama_set_abort_callback(context, { data in
            guard let data else { return false }
            return Unmanaged<AbortSignal>.fromOpaque(data).takeUnretainedValue().isRaised
        }, Unmanaged.passUnretained(self).toOpaque())
    }
}
