import WorkerBeeWire

/// What a pool embed call achieved when some of its texts crash the worker every time: the
/// vectors of all the others, and for each text that could not be embedded, why.
public struct PartialEmbedding: Sendable {
    /// One vector per input text; the rows of failed texts are zeros (and their token count 0).
    public var result: EmbedResult
    /// The failed texts' indexes, ascending, with the error for each.
    public var failures: [(index: Int, error: WorkerError)]

    /// The failed texts' indexes, ascending.
    public var failedIndexes: [Int] { failures.map(\.index) }
}
