import WorkerBeeWire

/// One text's embedding from an ``EmbeddingStream``.
public struct EmbeddedText: Sendable, Equatable {
    /// The text's position in the input, from 0.
    public let index: Int
    /// Its vector.
    public let vector: [Float]
    /// Tokens the text used (after truncation).
    public let tokenCount: Int
    /// Whether the text was cut to fit the model's context.
    public let truncated: Bool
}
