import WorkerBeeModels

/// How an embed call runs.
public struct EmbedOptions: Sendable, Equatable {
    /// What to do with an input that crashes the worker every time (after it was cornered and
    /// tried alone on a fresh worker).
    public enum PoisonTexts: Sendable, Equatable {
        /// Fail the call with ``WorkerError/Code/poisonInput``; the error's
        /// ``WorkerError/partial`` holds every other input's vector.
        case fail
        /// Return every other input's vector and list the failed ones in
        /// ``Embeddings/failures``.
        case report
    }

    /// Which end of a text longer than the model's context is cut (the text is reported as
    /// truncated either way).
    public enum Truncation: Sendable, Equatable {
        /// Cut the end, keep the start (the default; TEI's `right`).
        case end
        /// Cut the start, keep the end (TEI's `left`): for texts whose end matters most, such as
        /// a conversation's last turns.
        case start
    }

    /// The model; nil means the configured embedding model.
    public var model: ModelReference?
    /// L2-normalise each vector (default true).
    public var normalize: Bool
    /// What to do with an input that crashes the worker every time (default ``PoisonTexts/fail``).
    public var poisonTexts: PoisonTexts
    /// For a pool: cut a call smaller than a request into one piece per worker, so that one call
    /// uses them all (default). A caller that keeps every worker busy with calls of its own, as
    /// ``EmbeddingBatcher`` does, sets false: each call then runs on one worker and finishes
    /// sooner. A single ``WorkerProcess`` ignores it.
    public var spreadOverWorkers: Bool
    /// Which end of an over-long text is cut (default ``Truncation/end``). Token-id inputs are
    /// always cut at the end.
    public var truncation: Truncation

    /// Options with the defaults described on each property.
    public init(
        model: ModelReference? = nil, normalize: Bool = true, poisonTexts: PoisonTexts = .fail, spreadOverWorkers: Bool = true, truncation: Truncation = .end
    ) {
        self.model = model
        self.normalize = normalize
        self.poisonTexts = poisonTexts
        self.spreadOverWorkers = spreadOverWorkers
        self.truncation = truncation
    }
}
