import WorkerBeeWire

/// One text's embedding from an ``EmbeddingStream``.
public struct EmbeddedText: Sendable {
    /// The text's position in the input, from 0.
    public let index: Int
    /// Its vector; empty when ``error`` is set.
    public let vector: [Float]
    /// Tokens the text used (after truncation).
    public let tokenCount: Int
    /// Whether the text was cut to fit the model's context.
    public let truncated: Bool
    /// Why this text has no vector: it crashes the worker every time (`.poisonInput`). Only
    /// streams made with `EmbedOptions(poisonTexts: .report)` give such items.
    public let error: WorkerError?
}
