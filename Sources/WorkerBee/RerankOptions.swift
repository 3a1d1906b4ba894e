import WorkerBeeModels

/// How a rerank call runs.
public struct RerankOptions: Sendable, Equatable {
    /// The reranker; nil means the configured model (which must then be a reranker).
    public var model: ModelReference?
    /// What to do with a document that crashes the worker every time (default
    /// ``EmbedOptions/PoisonTexts/fail``).
    public var poisonDocuments: EmbedOptions.PoisonTexts
    /// For a pool: cut a call into one piece per worker (default), or keep it on one worker (see
    /// ``EmbedOptions/spreadOverWorkers``).
    public var spreadOverWorkers: Bool
    /// Which end of an over-long document is cut (default ``EmbedOptions/Truncation/end``); a
    /// pair is cut on its document first, and a query longer than half the room is cut too, so
    /// that each keeps at least half (as Hugging Face's `longest_first`).
    public var truncation: EmbedOptions.Truncation

    /// Options with the defaults described on each property.
    public init(
        model: ModelReference? = nil, poisonDocuments: EmbedOptions.PoisonTexts = .fail, spreadOverWorkers: Bool = true, truncation: EmbedOptions.Truncation = .end
    ) {
        self.model = model
        self.poisonDocuments = poisonDocuments
        self.spreadOverWorkers = spreadOverWorkers
        self.truncation = truncation
    }
}
