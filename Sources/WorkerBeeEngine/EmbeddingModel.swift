internal import CLlama
import CWorkerBeeSystem
import Foundation
import GGUF
import WorkerBeeWire

/// A GGUF embedding model loaded through llama.cpp, ready to embed texts.
///
/// Many texts go into one llama.cpp batch as separate sequences (one `seq_id` each). Texts are
/// packed, longest first, into micro-batches of at most ``Options/batchTokens`` tokens, since
/// attention inside a micro-batch spans all of its tokens. Not thread-safe: use one model
/// from one thread at a time.
///
/// **Same text, same vector.** When ``batchInvariant`` is on, a text's vector is the same bit
/// for bit whatever it is batched with, however the host cut the call, and however many threads
/// run. Two things in llama.cpp's CPU path depend on a text's neighbours. Mean pooling, which
/// llama.cpp computes as one matrix product over the whole micro-batch (where the text's rows
/// land in the SIMD lanes decides the rounding), is done here instead, over the text's own token
/// rows in a fixed order. Flash attention's tiled kernel cuts its key tiles from the start of the
/// micro-batch (so where a text starts decides how its keys are grouped) and takes over from the
/// one-row kernel at ``tiledAttentionRows`` query rows (so a text alone and a text in a crowd meet
/// different kernels). The llama.cpp that scripts/bootstrap builds carries a patch that makes
/// the tiled kernel follow sequences (patches/, `flash-attention-follows-sequences`), and then
/// texts are packed as usual at no cost. With another llama.cpp, invariance is kept by packing
/// shorter texts only into micro-batches under that size and running longer ones alone, which
/// costs throughput on short texts, so it is then on only when asked for. Every other operation
/// of an encoder (matrix products through tinyBLAS, norms, activations) computes each row on its
/// own.
public final class EmbeddingModel {
    /// How to load and run the model.
    public struct Options: Sendable, Equatable {
        /// CPU threads; nil means all cores.
        public var threads: Int?
        /// The most tokens one text may use; nil means the model's training context. Longer
        /// texts are truncated (and reported as such).
        public var contextSize: Int?
        /// Most tokens packed into one llama.cpp call. A single text longer than this still goes
        /// alone in one call (the context is sized for the longest text).
        public var batchTokens: Int
        /// Most texts per micro-batch (llama.cpp allows up to 256).
        public var maxSequencesPerBatch: Int
        /// Layers to offload to a GPU when llama.cpp has one; nil means all, 0 means none.
        public var gpuLayers: Int?
        /// Make each text's vector independent of the texts it is batched with, bit for bit (see
        /// ``EmbeddingModel``): nil (the default) when that costs nothing, which is with the
        /// llama.cpp that scripts/bootstrap builds; true also with another llama.cpp, where
        /// short texts then share smaller micro-batches (about 30% fewer short texts per
        /// second, docs/PERFORMANCE.md); false never.
        public var batchInvariant: Bool?
        /// Keep invariance by micro-batches under ``EmbeddingModel/tiledAttentionRows`` even when
        /// the kernel would make it free (tests of that path use it).
        var packsUnderTiledAttention = false

        /// Creates options.
        public init(
            threads: Int? = nil, contextSize: Int? = nil, batchTokens: Int = 256, maxSequencesPerBatch: Int = 64, gpuLayers: Int? = nil,
            batchInvariant: Bool? = nil
        ) {
            self.gpuLayers = gpuLayers
            self.batchInvariant = batchInvariant
            self.threads = threads
            self.contextSize = contextSize
            self.batchTokens = batchTokens
            self.maxSequencesPerBatch = maxSequencesPerBatch
        }
    }

    /// The model file.
    public let url: URL
    /// `general.architecture`.
    public let architecture: String
    /// Length of each embedding; for a reranker, the number of scores per pair (1 for a
    /// relevance score).
    public private(set) var dimension: Int
    /// Whether the model is a reranker (rank pooling): it scores query-document pairs with
    /// ``rerank(queries:documents:truncateStart:abort:)`` and does not embed.
    public let isReranker: Bool
    /// The most tokens one text may use.
    public let maxTokensPerText: Int
    /// llama.cpp pooling type (1 mean, 2 cls, 3 last).
    public let poolingType: Int
    /// Threads used.
    public let threads: Int
    /// Most tokens packed into one llama.cpp call.
    public let batchTokens: Int
    /// Whether vectors are independent of batching (``Options/batchInvariant``).
    public let batchInvariant: Bool
    /// With ``batchInvariant``: whether texts are packed into micro-batches under
    /// ``tiledAttentionRows`` (a llama.cpp whose flash attention does not follow sequences).
    public let packsUnderTiledAttention: Bool

    /// The micro-batch size (query rows) from which llama.cpp's CPU flash attention uses its tiled
    /// kernel (`GGML_FA_TILE_Q` in ggml-cpu/common.h of the llama.cpp that scripts/bootstrap builds).
    public static let tiledAttentionRows = 64
    /// Architectures whose graph applies dense layers after pooling (llama.cpp's
    /// `build_dense_out`), so pooling cannot move out of llama.cpp for them.
    static let projectionAfterPooling: Set<String> = ["gemma-embedding", "gemma3", "lfm2", "lfm2moe"]

    /// llama.cpp's rank pooling (`LLAMA_POOLING_TYPE_RANK`).
    static let rankPooling = 4
    /// A reranker's pair form.
    private(set) var pairFormat: PairFormat = .plain(first: [], middle: [], last: [])
    /// For a BERT reranker with segment types: the input rows that carry them.
    private(set) var segments: SegmentEmbeddings?
    /// A BERT-style reranker's head, computed from each pair's first token row.
    let rankHead: RankHead?
    /// The batch that carries input rows instead of token ids (with ``segments``).
    var segmentBatch: llama_batch?
    /// A Qwen3-style reranker whose head gives the probabilities of "yes" and "no": reported as
    /// one score, log(p(yes) / p(no)), the logit whose sigmoid is p(yes).
    private(set) var scoresAreYesNoProbabilities = false

    private let model: OpaquePointer
    let context: OpaquePointer
    let vocab: OpaquePointer
    let maxSequences: Int
    var batch: llama_batch
    let usesMemory: Bool
    /// Mean pooling is done here over each text's token rows (llama.cpp returns every token's row).
    let poolsHere: Bool
    /// Called right before each llama.cpp call with the number of calls made so far in this
    /// `embed` (tests use it to raise the abort signal while llama.cpp runs).
    var beforeDecode: ((Int) -> Void)?
    /// What the last llama.cpp call returned (2 when its abort callback stopped it).
    var lastDecodeStatus: Int32 = 0
    var decodesInCall = 0

    /// Loads the model at `url`.
    /// - Throws: ``EngineError``: `.modelNotFound`, `.invalidModel` (not a GGUF, corrupt),
    ///   `.cannotEmbed` (no pooling, a reranker, a projector), `.loadFailed`.
    public init(url: URL, options: Options = Options()) throws(EngineError) {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw EngineError(.modelNotFound, "model file \(path) does not exist")
        }
        guard let model = LlamaRuntime.loadModel(at: url, gpuLayers: options.gpuLayers) else {
            throw LlamaRuntime.explainLoadFailure(url, purpose: "an embedding model")
        }
        // Read from llama.cpp's own parse of the metadata, so the file is not parsed twice on the
        // start-up path; the project's reader only runs when llama.cpp refuses a file.
        let architecture = Self.metadata(model, "general.architecture") ?? "unknown"
        let pooling = Self.metadata(model, "\(architecture).pooling_type").flatMap { Int($0) } ?? 0
        guard (1...4).contains(pooling) else {
            llama_model_free(model)
            throw EngineError(.cannotEmbed, "\(url.lastPathComponent) cannot embed: it declares no pooling type (\(architecture).pooling_type), so it is a text generator, not an embedding model")
        }
        let isReranker = pooling == Self.rankPooling
        // A reranker's own tables, read once from the mapped file: a BERT-style head runs here on
        // the [CLS] rows (see RankHead), and segment types need the token rows (SegmentEmbeddings).
        let rerankerFile = isReranker ? try? GGUFFile(contentsOf: url) : nil
        let rankHead = rerankerFile.flatMap { RankHead(file: $0, architecture: architecture, width: Int(llama_model_n_embd(model))) }
        let trainContext = Int(llama_model_n_ctx_train(model))
        let perText = max(8, min(options.contextSize ?? trainContext, trainContext))
        let batchTokens = max(1, options.batchTokens)
        let capacity = max(batchTokens, perText)
        let threads = max(1, options.threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let maxSequences = max(1, min(options.maxSequencesPerBatch, 256, capacity))
        // Flash attention off (a measurement override) computes softmax over whole batch rows.
        let flashAttentionOff = ProcessInfo.processInfo.environment["WORKERBEE_FLASH_ATTN"] == "off"
        let kernelFollowsSequences = LlamaRuntime.flashAttentionFollowsSequences
        let batchInvariant = !flashAttentionOff && (options.batchInvariant ?? kernelFollowsSequences)
        let poolsHere = batchInvariant && pooling == 1 && !Self.projectionAfterPooling.contains(architecture)
            && llama_model_n_embd(model) == llama_model_n_embd_out(model)

        var contextParams = llama_context_default_params()
        contextParams.embeddings = true
        contextParams.n_ctx = UInt32(capacity)
        contextParams.n_batch = UInt32(capacity)
        contextParams.n_ubatch = UInt32(capacity)
        contextParams.n_seq_max = UInt32(maxSequences)
        contextParams.kv_unified = true
        contextParams.n_threads = Int32(threads)
        contextParams.n_threads_batch = Int32(threads)
        contextParams.no_perf = true
        if poolsHere || rankHead != nil { contextParams.pooling_type = LLAMA_POOLING_TYPE_NONE }
        // Flash attention is what makes packed batches cheap: it skips the masked-out pairs between
        // sequences. llama.cpp's "auto" turns it on for CPU; WORKERBEE_FLASH_ATTN=on|off overrides
        // it for measurements (off is about 3.5x slower here, see docs/PERFORMANCE.md).
        switch ProcessInfo.processInfo.environment["WORKERBEE_FLASH_ATTN"] {
        case "on": contextParams.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_ENABLED
        case "off": contextParams.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED
        default: break
        }
        guard let context = llama_init_from_model(model, contextParams) else {
            llama_model_free(model)
            throw EngineError(.loadFailed, "llama.cpp could not create a context for \(path)")
        }
        self.url = url
        self.architecture = architecture
        self.model = model
        self.context = context
        self.vocab = llama_model_get_vocab(model)
        self.isReranker = isReranker
        self.rankHead = rankHead
        self.dimension = rankHead?.outputs ?? (isReranker ? Int(llama_model_n_cls_out(model)) : Int(llama_model_n_embd_out(model)))
        self.maxTokensPerText = perText
        self.poolingType = pooling
        self.threads = threads
        self.batchTokens = batchTokens
        self.batchInvariant = batchInvariant
        self.packsUnderTiledAttention = batchInvariant && (!kernelFollowsSequences || options.packsUnderTiledAttention)
        self.poolsHere = poolsHere
        self.maxSequences = maxSequences
        self.batch = llama_batch_init(Int32(capacity), 0, 1)
        self.usesMemory = llama_get_memory(context) != nil
        if isReranker {
            let template = llama_model_chat_template(model, "rerank").map { String(cString: $0) }
            let vocab = llama_model_get_vocab(model)
            self.pairFormat = PairFormat(template: template, vocab: vocab)
            self.scoresAreYesNoProbabilities = ["qwen3", "qwen3vl"].contains(architecture) && llama_model_n_cls_out(model) == 2
            if self.scoresAreYesNoProbabilities { self.dimension = 1 }
            // Segment types matter only to BERT's pair form; other models have one type.
            if case .bert = self.pairFormat, let segments = rerankerFile.flatMap(SegmentEmbeddings.init(file:)), segments.width == Int(llama_model_n_embd(model)) {
                self.segments = segments
                self.segmentBatch = llama_batch_init(Int32(capacity), Int32(segments.width), 1)
            }
        }
    }

    /// A metadata value as llama.cpp prints it, or nil if the key is absent.
    private static func metadata(_ model: OpaquePointer, _ key: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        let length = llama_model_meta_val_str(model, key, &buffer, buffer.count)
        guard length >= 0 else { return nil }
        return String(decoding: buffer.prefix(min(Int(length), buffer.count - 1)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit {
        if let segmentBatch { llama_batch_free(segmentBatch) }
        llama_batch_free(batch)
        llama_free(context)
        llama_model_free(model)
    }

    /// The tokens of `text` as the model sees them (special tokens included), before truncation.
    public func tokenize(_ text: String) throws(EngineError) -> [Int32] {
        try tokenize(text, addSpecial: true, parseSpecial: false)
    }

    /// The tokens of `text`; `addSpecial` adds the model's start and end tokens, `parseSpecial`
    /// reads special-token text such as `<|im_end|>` as that token.
    func tokenize(_ text: String, addSpecial: Bool, parseSpecial: Bool) throws(EngineError) -> [Int32] {
        let utf8 = Array(text.utf8)
        var tokens = [llama_token](repeating: 0, count: utf8.count + 8)
        var count = utf8.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) {
                llama_tokenize(vocab, $0.baseAddress, Int32(utf8.count), &tokens, Int32(tokens.count), addSpecial, parseSpecial)
            }
        }
        if count < 0 {
            tokens = [llama_token](repeating: 0, count: Int(-count))
            count = utf8.withUnsafeBufferPointer { bytes in
                bytes.withMemoryRebound(to: CChar.self) {
                    llama_tokenize(vocab, $0.baseAddress, Int32(utf8.count), &tokens, Int32(tokens.count), addSpecial, parseSpecial)
                }
            }
        }
        guard count >= 0 else { throw EngineError(.invalidInput, "llama.cpp could not tokenize a text of \(utf8.count) bytes") }
        return Array(tokens.prefix(Int(count)))
    }

    /// Embeds `texts`, returning one vector per text in input order.
    /// - Parameters:
    ///   - texts: the texts; an empty list returns an empty result at once.
    ///   - normalize: L2-normalise each vector (default true).
    ///   - abort: raised by another thread to stop early.
    /// - Throws: ``EngineError`` `.cancelled` when aborted, `.inferenceFailed` when llama.cpp fails.
    public func embed(_ texts: [String], normalize: Bool = true, truncateStart: Bool = false, abort: AbortSignal? = nil) throws(EngineError) -> EmbedResult {
        try refuseIfReranker()
        var tokenized: [[llama_token]] = []
        tokenized.reserveCapacity(texts.count)
        for text in texts { tokenized.append(try tokenize(text)) }
        return try embed(tokens: tokenized, normalize: normalize, truncateStart: truncateStart, abort: abort)
    }

    /// The number of tokens in the model's vocabulary.
    public var vocabularySize: Int { Int(llama_vocab_n_tokens(vocab)) }

    /// Embeds texts given as token ids (as ``tokenize(_:)`` makes them, special tokens included),
    /// one vector per sequence in input order. Sequences longer than the context are truncated.
    /// - Throws: ``EngineError`` `.invalidInput` for an empty sequence or an id outside the
    ///   vocabulary, `.cancelled`, `.inferenceFailed`.
    public func embed(tokens sequences: [[Int32]], normalize: Bool = true, truncateStart: Bool = false, abort: AbortSignal? = nil) throws(EngineError) -> EmbedResult {
        try refuseIfReranker()
        if sequences.isEmpty { return EmbedResult(dimension: dimension, values: [], tokenCounts: [], truncated: []) }
        let vocabulary = Int32(vocabularySize)
        var tokenized: [[llama_token]] = []
        tokenized.reserveCapacity(sequences.count)
        var truncated = [Bool](repeating: false, count: sequences.count)
        for (index, sequence) in sequences.enumerated() {
            guard !sequence.isEmpty else { throw EngineError(.invalidInput, "token sequence \(index) is empty") }
            if let bad = sequence.first(where: { $0 < 0 || $0 >= vocabulary }) {
                throw EngineError(.invalidInput, "token sequence \(index) holds id \(bad), outside the vocabulary of \(vocabulary) tokens")
            }
            var tokens = sequence
            if tokens.count > maxTokensPerText {
                // Keep the special tokens the model expects at the ends ([CLS] ... [SEP]), when
                // the sequence has them, and cut the end of the text, or its start.
                let head = llama_vocab_is_control(vocab, tokens[0]) ? [tokens[0]] : []
                let tail = llama_vocab_is_control(vocab, tokens[tokens.count - 1]) ? [tokens[tokens.count - 1]] : []
                let body = tokens[head.count..<(tokens.count - tail.count)]
                let room = maxTokensPerText - head.count - tail.count
                tokens = head + Array(truncateStart ? body.suffix(room) : body.prefix(room)) + tail
                truncated[index] = true
            }
            tokenized.append(tokens)
        }
        var values = try runPacked(tokenized, types: nil, abort: abort)
        if normalize {
            for row in 0..<sequences.count { Self.normalize(&values[(row * dimension)..<((row + 1) * dimension)]) }
        }
        return EmbedResult(dimension: dimension, values: values, tokenCounts: tokenized.map(\.count), truncated: truncated)
    }

    private func refuseIfReranker() throws(EngineError) {
        guard isReranker else { return }
        throw EngineError(.cannotEmbed, "\(url.lastPathComponent) is a reranker (rank pooling): it scores query-document pairs and makes no embeddings; rerank with it instead (POST /v1/rerank, `workerbee rerank`)")
    }

    /// log(p(yes) / p(no)), kept finite when a probability rounds to 0.
    static func logit(yes: Float, no: Float) -> Float {
        let tiny = Float.leastNormalMagnitude
        return log(max(yes, tiny)) - log(max(no, tiny))
    }

    private static func normalize(_ vector: inout ArraySlice<Float>) {
        var sum: Double = 0
        for value in vector { sum += Double(value) * Double(value) }
        guard sum > 0 else { return }
        let scale = Float(1 / sum.squareRoot())
        for index in vector.indices { vector[index] *= scale }
    }
}
