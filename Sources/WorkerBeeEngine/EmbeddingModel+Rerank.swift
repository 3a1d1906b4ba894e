internal import CLlama
import Foundation
import WorkerBeeWire

extension EmbeddingModel {
    /// Scores query-document pairs with a reranker: pair `i` is `queries[i]` with
    /// `documents[i]`, joined as the model expects (``PairFormat``), and its scores are the
    /// model's head outputs (``dimension`` per pair: one relevance logit for most rerankers, one
    /// per label for a classifier with several). A BERT cross-encoder sees its document in
    /// segment 1, as it was trained. Pairs are packed into micro-batches like texts.
    ///
    /// A pair longer than the context is cut on the document side first (its end, or its start
    /// with `truncateStart`); a query longer than half the room is cut too, so that each keeps at
    /// least half (as Hugging Face's `longest_first` truncation); it is reported in
    /// ``EmbedResult/truncated``.
    /// - Throws: ``EngineError`` `.cannotRerank` when the model is not a reranker,
    ///   `.invalidInput` for mismatched lists, `.cancelled`, `.inferenceFailed`.
    public func rerank(queries: [String], documents: [String], truncateStart: Bool = false, abort: AbortSignal? = nil) throws(EngineError) -> EmbedResult {
        guard isReranker else {
            throw EngineError(.cannotRerank, "\(url.lastPathComponent) is not a reranker: it declares \(Self.poolingName(poolingType)) pooling, so it embeds texts and cannot score query-document pairs")
        }
        guard queries.count == documents.count else {
            throw EngineError(.invalidInput, "\(queries.count) queries for \(documents.count) documents; a rerank request pairs one query with each document")
        }
        if documents.isEmpty { return EmbedResult(dimension: dimension, values: [], tokenCounts: [], truncated: []) }
        var tokenized: [[Int32]] = []
        var types: [[UInt8]] = []
        var truncated: [Bool] = []
        tokenized.reserveCapacity(documents.count)
        var queryTokens: [String: [Int32]] = [:]
        for (query, document) in zip(queries, documents) {
            let pair: (tokens: [Int32], types: [UInt8], truncated: Bool)
            if case .template(let template) = pairFormat {
                pair = try templatePair(template, query: query, document: document, truncateStart: truncateStart)
            } else {
                if queryTokens[query] == nil { queryTokens[query] = try tokenize(query, addSpecial: false, parseSpecial: false) }
                pair = joinedPair(query: queryTokens[query]!, document: try tokenize(document, addSpecial: false, parseSpecial: false), truncateStart: truncateStart)
            }
            tokenized.append(pair.tokens)
            types.append(pair.types)
            truncated.append(pair.truncated)
        }
        let values = try runPacked(tokenized, types: segments != nil ? types : nil, abort: abort)
        return EmbedResult(dimension: dimension, values: values, tokenCounts: tokenized.map(\.count), truncated: truncated)
    }

    /// A pair in the BERT or plain form, its texts cut to fit the context (document first).
    private func joinedPair(query: [Int32], document: [Int32], truncateStart: Bool) -> (tokens: [Int32], types: [UInt8], truncated: Bool) {
        let room = max(2, maxTokensPerText - pairFormat.specialTokenCount)
        var query = query, document = document
        let cut = query.count + document.count > room
        if cut {
            let documentKeeps = max(room - query.count, min(document.count, room / 2))
            let queryKeeps = room - documentKeeps
            document = Array(truncateStart ? document.suffix(documentKeeps) : document.prefix(documentKeeps))
            query = Array(truncateStart ? query.suffix(queryKeeps) : query.prefix(queryKeeps))
        }
        let joined = pairFormat.join(query: query, document: document)
        return (joined.tokens, joined.types, cut)
    }

    /// A pair in the model's template. An over-long pair has its query cut first when the prompt
    /// without a document is already over the context (to half the room the template leaves),
    /// then its document, by tokens, tokenizing the prompt again until it fits (tokens can merge
    /// across the seam).
    private func templatePair(_ template: String, query: String, document: String, truncateStart: Bool) throws(EngineError) -> (tokens: [Int32], types: [UInt8], truncated: Bool) {
        var tokens = try tokenize(PairFormat.fill(template, query: query, document: document), addSpecial: false, parseSpecial: true)
        guard tokens.count > maxTokensPerText else { return (tokens, [UInt8](repeating: 0, count: tokens.count), false) }
        func cut(_ text: String, to count: Int) throws(EngineError) -> (String, Int) {
            let pieces = try tokenize(text, addSpecial: false, parseSpecial: false)
            let kept = max(0, min(count, pieces.count))
            return (detokenize(Array(truncateStart ? pieces.suffix(kept) : pieces.prefix(kept))), pieces.count)
        }
        let bare = try tokenize(PairFormat.fill(template, query: "", document: ""), addSpecial: false, parseSpecial: true).count
        guard bare < maxTokensPerText else {
            throw EngineError(.invalidInput, "the model's rerank template alone takes \(bare) tokens, over its context of \(maxTokensPerText)")
        }
        var query = query
        var fixed = try tokenize(PairFormat.fill(template, query: query, document: ""), addSpecial: false, parseSpecial: true).count
        var queryKeep = (maxTokensPerText - bare) / 2
        while fixed >= maxTokensPerText {
            query = try cut(query, to: queryKeep).0
            fixed = try tokenize(PairFormat.fill(template, query: query, document: ""), addSpecial: false, parseSpecial: true).count
            queryKeep -= max(1, fixed - maxTokensPerText + 1)
        }
        var keep = maxTokensPerText - fixed
        var documentCut = document
        repeat {
            documentCut = try cut(document, to: keep).0
            tokens = try tokenize(PairFormat.fill(template, query: query, document: documentCut), addSpecial: false, parseSpecial: true)
            keep = max(0, keep - max(1, tokens.count - maxTokensPerText))
        } while tokens.count > maxTokensPerText && !documentCut.isEmpty
        // An empty document leaves the prompt at `fixed`, under the context.
        return (tokens, [UInt8](repeating: 0, count: tokens.count), true)
    }

    /// The text of `tokens` (special tokens as text, none removed).
    func detokenize(_ tokens: [Int32]) -> String {
        var buffer = [CChar](repeating: 0, count: tokens.count * 16 + 16)
        var length = llama_detokenize(vocab, tokens, Int32(tokens.count), &buffer, Int32(buffer.count), false, false)
        if length < 0 {
            buffer = [CChar](repeating: 0, count: Int(-length) + 1)
            length = llama_detokenize(vocab, tokens, Int32(tokens.count), &buffer, Int32(buffer.count), false, false)
        }
        return String(decoding: buffer.prefix(max(0, Int(length))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func poolingName(_ type: Int) -> String {
        switch type {
        case 1: "mean"
        case 2: "CLS"
        case 3: "last-token"
        case 4: "rank"
        default: "no"
        }
    }
}
