import Synchronization

/// Whether the server should take work: not yet (workers starting, the model loading), ready,
/// broken (the model cannot be loaded, with why), or draining (shutting down).
final class Readiness: Sendable {
    enum State: Sendable, Equatable {
        case starting
        case ready
        case broken(String)
        case draining
    }

    private let state = Mutex(State.starting)

    var current: State { state.withLock { $0 } }

    func set(_ new: State) {
        state.withLock { state in
            // Draining is final.
            if state != .draining { state = new }
        }
    }

    /// Why requests are refused now, or nil when ready.
    var refusal: String? {
        switch current {
        case .ready: nil
        case .starting: "the server is starting: the workers are loading the model"
        case .broken(let reason): "the model cannot be used: \(reason)"
        case .draining: "the server is shutting down"
        }
    }
}
