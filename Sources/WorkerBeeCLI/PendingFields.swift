import Synchronization

/// The input's extra fields, waiting for their vectors: pushed as texts are read, popped as
/// results come out (both in input order). Holds at most what the stream has in flight.
final class PendingFields: Sendable {
    private struct Queue {
        var values: [String] = []
        var head = 0
    }
    private let queue = Mutex(Queue())

    /// Adds the fields of the text just read.
    func push(_ value: String) { queue.withLock { $0.values.append(value) } }

    /// The fields of the oldest text not yet written.
    func pop() -> String {
        queue.withLock { queue in
            let value = queue.values[queue.head]
            queue.head += 1
            if queue.head > 1024 && queue.head * 2 > queue.values.count {
                queue.values.removeFirst(queue.head)
                queue.head = 0
            }
            return value
        }
    }
}
