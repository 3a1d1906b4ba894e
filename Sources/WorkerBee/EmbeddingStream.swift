import Synchronization
import WorkerBeeWire

/// The results of ``WorkerPool/embeddings(of:options:)``: one ``EmbeddedText`` per input
/// text, in input order.
///
/// Input is read in requests within the pool's ``EmbedRequestLimit``, only while the consumer
/// asks for results, with at most `window` requests in flight; so the host holds at most
/// `window` requests of texts and vectors, whatever the input's length.
public struct EmbeddingStream<Input: AsyncSequence>: AsyncSequence where Input.Element == String {
    public typealias Element = EmbeddedText

    let pool: WorkerPool
    let input: Input
    let options: EmbedOptions
    let window: Int

    public func makeAsyncIterator() -> Iterator {
        Iterator(pool: pool, input: input.makeAsyncIterator(), options: options, window: window)
    }

    /// Reads input, keeps up to `window` requests in flight, and hands out results in order.
    public struct Iterator: AsyncIteratorProtocol {
        private let pool: WorkerPool
        private var input: Input.AsyncIterator
        private let options: EmbedOptions
        private let window: Int
        private let limit: EmbedRequestLimit
        private var inputEnded = false
        /// An error the input threw; given to the consumer after every text before it.
        private var inputError: (any Error)?
        private var carried: String?
        private var nextIndex = 0
        private let inFlight = InFlight()
        private var current: (start: Int, result: Embeddings, failed: [Int: WorkerError], position: Int)?

        init(pool: WorkerPool, input: Input.AsyncIterator, options: EmbedOptions, window: Int) {
            self.pool = pool
            self.input = input
            self.options = options
            self.window = window
            self.limit = pool.configuration.requestLimit
        }

        /// The next result in input order; nil after the last.
        /// - Throws: the input's errors, ``WorkerError``, or `CancellationError`.
        public mutating func next() async throws -> EmbeddedText? {
            while true {
                if let current, current.position < current.result.result.count {
                    self.current!.position += 1
                    let row = current.position
                    if let failure = current.failed[row] {
                        let error = WorkerError(
                            .poisonInput, "text \(current.start + row) \(failure.message.hasPrefix("it ") ? String(failure.message.dropFirst(3)) : failure.message)",
                            exitStatus: failure.exitStatus, logTail: failure.logTail)
                        if options.poisonTexts == .fail { throw error }
                        return EmbeddedText(index: current.start + row, vector: [], tokenCount: 0, truncated: false, error: error)
                    }
                    let result = current.result.result
                    return EmbeddedText(
                        index: current.start + row, vector: result.vector(at: row),
                        tokenCount: result.tokenCounts[row], truncated: result.truncated[row], error: nil)
                }
                current = nil
                await fill()
                guard let (start, task) = inFlight.popFirst() else {
                    if let inputError {
                        self.inputError = nil
                        throw inputError
                    }
                    return nil
                }
                let result = try await withTaskCancellationHandler {
                    try await task.value
                } onCancel: {
                    task.cancel()
                }
                current = (start, result, Dictionary(uniqueKeysWithValues: result.failures.map { ($0.index, $0.error) }), 0)
            }
        }

        /// Reads input and sends requests until `window` are in flight or the input ends (or
        /// throws: the texts before the error are still sent).
        private mutating func fill() async {
            while inFlight.count < window && !inputEnded {
                var texts: [String] = []
                var bytes = 0
                while true {
                    let text: String?
                    if let carried {
                        text = carried
                        self.carried = nil
                    } else {
                        do {
                            text = try await input.next()
                        } catch {
                            inputError = error
                            text = nil
                        }
                    }
                    guard let text else {
                        inputEnded = true
                        break
                    }
                    let cost = EmbedRequestLimit.cost(of: text)
                    guard limit.fits(count: texts.count, bytes: bytes, adding: cost) else {
                        carried = text
                        break
                    }
                    texts.append(text)
                    bytes += cost
                }
                guard !texts.isEmpty else { break }
                let (pool, options) = (self.pool, self.options)
                let request = texts
                inFlight.append(start: nextIndex, Task {
                    try await pool.embedAllowingPoison(request, model: options.model, normalize: options.normalize, truncateStart: options.truncation == .start)
                })
                nextIndex += texts.count
            }
        }
    }
}

/// The requests an ``EmbeddingStream/Iterator`` has in flight; cancelled when the iterator is
/// dropped, so a consumer that stops early leaves nothing running.
private final class InFlight: Sendable {
    private let tasks = Mutex<[(start: Int, task: Task<Embeddings, any Error>)]>([])

    var count: Int { tasks.withLock { $0.count } }

    func append(start: Int, _ task: Task<Embeddings, any Error>) {
        tasks.withLock { $0.append((start, task)) }
    }

    func popFirst() -> (Int, Task<Embeddings, any Error>)? {
        tasks.withLock { $0.isEmpty ? nil : $0.removeFirst() }
    }

    deinit {
        for (_, task) in tasks.withLock({ $0 }) { task.cancel() }
    }
}
