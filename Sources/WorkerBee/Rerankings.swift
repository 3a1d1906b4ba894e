import Foundation
import WorkerBeeWire

/// What a rerank call gives back: each document's scores in input order, with the tokens its
/// pair held and whether the pair was cut to the model's context.
///
/// A score is the model's raw output for the pair: for a cross-encoder, the relevance logit
/// (higher is more relevant; `1 / (1 + exp(-score))` is the probability the model was trained
/// to give); for a Qwen3-style reranker, log(p(yes) / p(no)), whose sigmoid is p(yes).
public struct Rerankings: Sendable {
    /// One row per document: ``labels`` scores each (failed documents: zeros).
    public var result: EmbedResult
    /// The failed documents' indexes, ascending, with the error for each (empty unless poison
    /// documents are reported).
    public var failures: [(index: Int, error: WorkerError)]

    /// Rerankings from their parts.
    public init(result: EmbedResult, failures: [(index: Int, error: WorkerError)] = []) {
        self.result = result
        self.failures = failures
    }

    /// Rerankings from an embed call's answer over the pairs.
    init(_ embeddings: Embeddings) {
        self.init(result: embeddings.result, failures: embeddings.failures)
    }

    /// The same answer as an embed call's (a batcher carries both alike).
    var embeddings: Embeddings { Embeddings(result: result, failures: failures) }

    /// Scores per document: 1 for a relevance score, more for a classifier with several labels.
    public var labels: Int { result.dimension }
    /// Each document's relevance score (its first label), in input order.
    public var scores: [Float] {
        guard result.dimension > 0 else { return Array(repeating: 0, count: count) }
        return (0..<count).map { result.values[$0 * result.dimension] }
    }
    /// The documents best first (highest score; equal scores in input order), without the
    /// failed ones.
    public var ranked: [(index: Int, score: Float)] {
        Self.bestFirst(scores, excluding: Set(failures.map(\.index)))
    }

    /// `scores`' indexes and scores, highest first (equal scores in input order), without the
    /// indexes in `excluded`.
    public static func bestFirst(_ scores: [Float], excluding excluded: Set<Int> = []) -> [(index: Int, score: Float)] {
        scores.enumerated().filter { !excluded.contains($0.offset) }.map { (index: $0.offset, score: $0.element) }
            .sorted { $0.score > $1.score || ($0.score == $1.score && $0.index < $1.index) }
    }

    /// The probability a score (a logit) stands for: its sigmoid, 1 / (1 + exp(-score)).
    public static func probability(ofLogit score: Float) -> Float {
        Float(1 / (1 + exp(-Double(score))))
    }
    /// Tokens each pair held (after truncation).
    public var tokenCounts: [Int] { result.tokenCounts }
    /// Whether each pair was cut to the model's context.
    public var truncated: [Bool] { result.truncated }
    /// The number of documents.
    public var count: Int { result.count }
}
