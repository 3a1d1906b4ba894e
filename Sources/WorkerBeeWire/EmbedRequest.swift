import BinaryCoding

/// Texts to embed.
public struct EmbedRequest: Sendable, Equatable {
    /// Model name or path; empty means the worker's configured default.
    public var model: String
    /// Whether to L2-normalise each vector.
    public var normalize: Bool
    /// The texts, in order.
    public var texts: [String]
    /// Which end of a text longer than the context is cut: false cuts the end (keeps the
    /// start, the default), true cuts the start (keeps the end).
    public var truncateStart: Bool
    /// Empty to embed the texts; else one query per text, and the request asks a reranker to
    /// score each (query, text) pair, the text being the document.
    public var queries: [String]

    /// Creates a request.
    public init(model: String, normalize: Bool = true, texts: [String], truncateStart: Bool = false, queries: [String] = []) {
        self.model = model
        self.normalize = normalize
        self.texts = texts
        self.truncateStart = truncateStart
        self.queries = queries
    }
}
