import WorkerBeeWire

/// What an embed call gives back: one vector per input, in order, with each input's token count
/// and whether it was cut to the model's context; and, when the call asked for poison texts to
/// be reported (``EmbedOptions/PoisonTexts/report``), the inputs that crash the worker every
/// time and why.
public struct Embeddings: Sendable {
    /// The packed vectors, token counts and truncation flags; the rows of failed inputs are
    /// zeros (and their token count 0).
    public var result: EmbedResult
    /// The failed inputs' indexes, ascending, with the error for each (empty unless poison
    /// texts are reported).
    public var failures: [(index: Int, error: WorkerError)]

    /// Embeddings from their parts.
    public init(result: EmbedResult, failures: [(index: Int, error: WorkerError)] = []) {
        self.result = result
        self.failures = failures
    }

    /// One vector per input, in order.
    public var vectors: [[Float]] { result.vectors }
    /// Tokens each input held (after truncation).
    public var tokenCounts: [Int] { result.tokenCounts }
    /// Whether each input was cut to the model's context.
    public var truncated: [Bool] { result.truncated }
    /// The number of inputs.
    public var count: Int { result.count }
    /// The failed inputs' indexes, ascending.
    public var failedIndexes: [Int] { failures.map(\.index) }
}
